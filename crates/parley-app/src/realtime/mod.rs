//! Realtime (R12): events pushed to each person's open connections — new messages addressed to
//! them, state changes, seen receipts and their unread counts — with replay after a reconnect.

mod cluster;
mod counts;
mod endings;
mod events;
mod hub;
mod looking;
pub mod policy;
mod publish;
mod slots;
pub(crate) use publish::PushOrder;

pub use cluster::ClusterRelay;
pub use counts::CountsRelay;
pub use endings::{EndNotice, Ending};
pub use events::{Event, EventBody};
pub use hub::{Hub, Next, Subscription, HUB_BUFFER, LIVE_BUFFER};
pub use looking::{Looking, LookingReport, Onlookers};
pub use slots::{SocketSlot, SocketSlots, MAX_PER_CLIENT, MAX_PER_PERSON};
