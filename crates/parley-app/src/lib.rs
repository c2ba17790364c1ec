//! Parley's application services. Every channel (the messenger, the widget, the portal, email
//! replies, the API, automations) goes through these functions, so each rule is enforced once:
//! access is checked here, the audience is computed here (by `parley_domain::audience`), and the
//! store is asked to write atomically.

mod access;
mod actor;
mod auth;
mod clock;
mod conversations;
mod error;
mod messages;
mod people;
mod setup;
mod views;
mod work;

pub use actor::Actor;
pub use auth::{hash_password, LoginResult};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conversations::{NewConversationRequest, StartAs};
pub use error::{AppError, AppResult};
pub use messages::PostRequest;
pub use setup::FirstAdmin;
pub use views::{ViewCount, ViewPage, ViewedConversation};
pub use work::NewItemRequest;

use parley_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Deployment settings the services need.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// R14: how long a message may stay unseen before it is emailed.
    pub email_delay: Duration,
    /// How long a login session lasts.
    pub session_ttl: Duration,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig { email_delay: Duration::from_secs(60), session_ttl: Duration::from_secs(30 * 24 * 3600) }
    }
}

/// The services, sharing one store and one clock. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: AppConfig,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        App { store, clock, config }
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
