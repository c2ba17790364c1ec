//! What the load generators share: the large install (`large`), seeded straight into the
//! database, which `parley-load --large` and `parley-ws-load --large` both measure on.

pub mod large;
