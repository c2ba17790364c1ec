//! Parley's application services. Every channel (the messenger, the widget, the portal, email
//! replies, the API, automations) goes through these functions, so each rule is enforced once:
//! access is checked here, the audience is computed here (by `parley_domain::audience`), and the
//! store is asked to write atomically.

mod access;
mod account_email;
mod actor;
mod attachments;
mod auth;
mod automated_emails;
mod automations;
mod clock;
mod conversations;
mod customer_view;
mod delivery;
mod error;
mod file_store;
mod invitations;
mod limits;
mod login_links;
mod mail_in;
mod mailer;
mod messages;
pub mod metrics;
mod password_links;
mod people;
mod realtime;
mod routing;
mod saved_replies;
pub mod search;
mod setup;
mod system_emails;
mod views;
mod webhooks;
mod widget;
mod work;

pub use actor::Actor;
pub use auth::{credential_of, hash_password, Authenticated, LoginResult};
pub use automated_emails::{AutomationRef, TemplateKind, TemplateSummary};
pub use automations::AutomationView;
pub use clock::{Clock, ManualClock, SystemClock};
pub use conversations::{NewConversationRequest, StartAs};
pub use customer_view::{OpenedRequest, ShownAuthor, Welcome};
pub use delivery::{
    DeliveryRound, DeliveryWorker, MessageDeliveries, TemplateEdit, TemplatePreview, NEW_MESSAGE_TEMPLATE,
};
pub use error::{AppError, AppResult};
pub use limits::{Attempt, LimitSettings, RateLimits, Rule as LimitRule};
pub use mail_in::{
    parse as parse_email, InboundError, InboundMail, MailAttachment, Via, INCOMING_LOG_MS, RELAY_TOKEN_PREFIX,
};
pub use mailer::Mailer;
pub use messages::PostRequest;
pub use people::CustomerPage;
pub use realtime::{
    ClusterRelay, CountsRelay, EndNotice, Ending, Event, EventBody, Hub, Looking, LookingReport, Next, SocketSlot,
    Subscription, HUB_BUFFER, LIVE_BUFFER, MAX_PER_CLIENT as MAX_SOCKETS_PER_CLIENT,
    MAX_PER_PERSON as MAX_SOCKETS_PER_PERSON,
};
pub use setup::FirstAdmin;
pub use system_emails::SystemEmailSetting;
pub use views::{LastMessagePreview, NamedCustomer, ViewCount, ViewFilter, ViewPage, ViewedConversation};
pub use webhooks::{WebhookView, WebhookWithSecret, MAX_DELIVERIES_PAGE};
pub use widget::Verified;
pub use work::NewItemRequest;

use parley_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Deployment settings the services need.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// R14: how long a message may stay unseen before it is emailed.
    pub email_delay: Duration,
    /// R14: where the ids of emails the SMTP server accepted are noted before the store records
    /// them (`None`: nowhere; an email a crash left in doubt is then always sent again).
    pub sent_journal: Option<std::path::PathBuf>,
    /// R14: how long a claim on email work holds before another worker may take it over.
    pub delivery_lease: Duration,
    /// R33: the deployment's send guard, for every kind of conversation (zero: not at all);
    /// `None`: 3 s in a chat, 10 s elsewhere. The company's own setting wins over it.
    pub send_guard: Option<Duration>,
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// The public URL of the server, for links in emails.
    pub base_url: String,
    /// The domain of Parley's own email addresses: Message-IDs and reply addresses (R16).
    pub mail_domain: String,
    /// R44: how many days a reply address (its token, or the Message-ID a reply names) works
    /// after the day its email was sent.
    pub reply_address_days: u32,
    /// R39: whether logins, visitors and the like are rate-limited (off only for load tests).
    pub rate_limits: bool,
    /// R39: the limits, defaults changed by `--rate-limit`.
    pub limit_settings: LimitSettings,
    /// R18: the address new requests are sent to; mail to it that answers no conversation starts
    /// one.
    pub support_address: String,
    /// A header a trusted reverse proxy puts the client's address in (R39 counts per client).
    pub client_ip_header: Option<String>,
    /// Where the bytes of attachments are kept.
    pub attachments_dir: std::path::PathBuf,
    /// The largest file that may be attached.
    pub attachment_max_bytes: u64,
    /// §10: whether webhooks may point inside the server's own network (loopback, private,
    /// link-local). Off: such endpoints are refused when registered and when sent to.
    pub allow_private_webhooks: bool,
    /// R45: the most bytes of raw mail the incoming log keeps; past it, new mails keep their
    /// headers only.
    pub incoming_log_max_bytes: u64,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            email_delay: Duration::from_secs(60),
            delivery_lease: Duration::from_secs(60),
            sent_journal: None,
            send_guard: None,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            base_url: "http://127.0.0.1:8080".into(),
            mail_domain: "parley.localhost".into(),
            reply_address_days: 180,
            rate_limits: true,
            limit_settings: LimitSettings::default(),
            client_ip_header: None,
            support_address: "support@parley.localhost".into(),
            attachments_dir: "parley-data/attachments".into(),
            attachment_max_bytes: parley_domain::attachment::DEFAULT_MAX_BYTES,
            allow_private_webhooks: false,
            incoming_log_max_bytes: mail_in::DEFAULT_INCOMING_LOG_BYTES,
        }
    }
}

/// The services, sharing one store and one clock. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Shared, not copied: every request and every open realtime connection holds an `App`.
    config: Arc<AppConfig>,
    mailer: Arc<dyn Mailer>,
    /// The key signing reply tokens (R16), read from the store once.
    reply_secret: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    hub: Arc<Hub>,
    /// Open realtime connections per person and per client (R40).
    sockets: realtime::SocketSlots,
    /// R43: who has which conversation open on this node.
    onlookers: realtime::Onlookers,
    limits: Arc<RateLimits>,
    journal: Arc<delivery::SentJournal>,
    metrics: Arc<metrics::Metrics>,
    files: Arc<file_store::FileStore>,
    /// New messages' pushes leave in the order the messages were posted.
    push_order: Arc<realtime::PushOrder>,
    /// §10: the webhook client, built on first use.
    webhook_sender: Arc<tokio::sync::OnceCell<webhooks::Sender>>,
    /// Told when webhook deliveries were queued, so the worker sends them at once.
    webhooks_queued: Arc<tokio::sync::Notify>,
    /// R45: how much raw mail the incoming log may keep.
    incoming_log: Arc<mail_in::LogBudget>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: AppConfig, mailer: Arc<dyn Mailer>) -> Self {
        let limits = Arc::new(RateLimits::new(config.rate_limits, &config.limit_settings, clock.clone()));
        let journal = Arc::new(delivery::SentJournal::new(config.sent_journal.clone()));
        let (hub, metrics) = (Arc::new(Hub::new()), Arc::default());
        let files = Arc::new(file_store::FileStore::new(config.attachments_dir.clone()));
        let incoming_log = Arc::new(mail_in::LogBudget::new(config.incoming_log_max_bytes));
        let config = Arc::new(config);
        let push_order = Arc::default();
        App {
            store,
            clock,
            config,
            mailer,
            reply_secret: Arc::default(),
            hub,
            sockets: realtime::SocketSlots::default(),
            onlookers: realtime::Onlookers::default(),
            limits,
            journal,
            metrics,
            files,
            push_order,
            webhook_sender: Arc::default(),
            webhooks_queued: Arc::default(),
            incoming_log,
        }
    }

    /// R39: the abuse limits every entry point that needs them checks.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// R40: a place for a new realtime connection of `party` from `client`, or 429 when that
    /// person (or, with the abuse limits on, that client) holds the most open already.
    pub fn socket_slot(
        &self,
        party: parley_domain::Party,
        client: Option<std::net::IpAddr>,
    ) -> AppResult<realtime::SocketSlot> {
        let slot = self.sockets.take(party, client, self.config.rate_limits).map_err(|full| {
            tracing::info!(?party, ?client, ?full, "realtime connection refused: too many open");
            AppError::TooManyRequests { retry_after_secs: 30 }
        })?;
        // R42: a user who connects is available at once (`tell_who_is_connected` keeps it so).
        if let parley_domain::Party::User(user) = party {
            let (store, now) = (self.store.clone(), self.now());
            tokio::spawn(async move {
                if let Err(error) = store.mark_connected(&[user], Some(now)).await {
                    tracing::warn!(%error, "a connection not recorded for routing");
                }
            });
        }
        Ok(slot)
    }

    /// The realtime hub connections subscribe to.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Where outgoing email goes, for logs.
    pub fn mailer(&self) -> &Arc<dyn Mailer> {
        &self.mailer
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The time on the application's clock, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now()
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
