//! The `parley` binary's library half: configuration, choosing the store, and starting the server.
//! `main` and the tests share [`launch_with_listener`], so tests run exactly what ships.

pub mod config;
pub mod store_move;

pub use config::Config;

use anyhow::Context;
use parley_app::{App, AppConfig, Clock, ClusterRelay, CountsRelay, DeliveryWorker, FirstAdmin, Mailer, SystemClock};
use parley_mail::{FileOutbox, SmtpMailer};
use parley_store::Store;
use parley_store_postgres::PgStore;
use parley_store_sqlite::SqliteStore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a stop waits for requests in flight, sockets and the email worker's round to finish.
const GRACE: Duration = Duration::from_secs(10);

/// A started server.
pub struct Launched {
    pub addr: SocketAddr,
    /// Where the SMTP listener for incoming mail listens, unless it is off.
    pub smtp_addr: Option<SocketAddr>,
    /// Where `/metrics` is served, if `--metrics-listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The first admin's login, on the very first start only.
    pub first_admin: Option<FirstAdmin>,
    pub app: App,
    stopping: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    metrics: Option<JoinHandle<std::io::Result<()>>>,
    worker: JoinHandle<()>,
    relay: AbortOnDrop,
    cluster: AbortOnDrop,
    /// Inbox rebuilds an upgrade left to the background (R41).
    _rebuilds: AbortOnDrop,
    /// Tells the store who is connected here, for routing (R42).
    _connected: AbortOnDrop,
    smtp: Option<AbortOnDrop<std::io::Result<()>>>,
    /// An embedded store's lock, held while this node runs (see [`lock_embedded_store`]).
    _lock: Option<std::fs::File>,
}

impl Launched {
    /// Stops gracefully: no new connections; requests in flight finish; realtime connections
    /// close with "going away" (1001) so clients reconnect elsewhere or later; the email worker
    /// finishes its round, so every email it claimed is settled and no lease is left to run out.
    /// Whatever has not finished within [`GRACE`] is cut off.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stopping.send(true);
        self.smtp.take();
        self.app.hub().stopping();
        let server = async {
            let served = (&mut self.task).await.context("server task")?.context("server");
            if let Some(metrics) = self.metrics.take() {
                metrics.await.context("metrics task")?.context("metrics")?;
            }
            served
        };
        let served = tokio::time::timeout(GRACE, server).await;
        if tokio::time::timeout(GRACE, &mut self.worker).await.is_err() {
            tracing::warn!("the email worker did not finish its round in time; its leases will run out");
            self.worker.abort();
        }
        let sockets_closed = async {
            while self.app.metrics().sockets_open() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let _ = tokio::time::timeout(GRACE, sockets_closed).await;
        match served {
            Ok(result) => result,
            Err(_) => {
                self.task.abort();
                tracing::warn!("requests still running after the grace period were cut off");
                Ok(())
            }
        }
    }

    /// Serves until `signal` resolves (Ctrl-C, SIGTERM), then stops gracefully; or until the
    /// server fails.
    pub async fn serve_until(
        mut self,
        signal: impl std::future::Future<Output = anyhow::Result<()>>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            received = signal => {
                received?;
                tracing::info!("stopping: finishing requests, closing realtime connections");
                self.stop().await
            }
            result = &mut self.task => result.context("server task")?.context("server"),
        }
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> anyhow::Result<()> {
        let _worker = AbortOnDrop(self.worker);
        let _relay = self.relay;
        let _cluster = self.cluster;
        let _smtp = self.smtp;
        self.task.await.context("server task")?.context("server")
    }
}

/// Opens the store named by the configuration: `--database-url` if given (a `sqlite:` or a
/// `postgres:` URL), else `<data-dir>/parley.db`.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match &config.database_url {
        Some(url) if url.starts_with("sqlite:") => {
            Ok(Arc::new(SqliteStore::open_url(url, config.sqlite_synchronous.into()).await?))
        }
        Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
            Ok(Arc::new(PgStore::open(url).await.context("opening the PostgreSQL database")?))
        }
        Some(url) => anyhow::bail!(
            "unsupported database URL '{}': use a sqlite: or a postgres: URL",
            url.split(':').next().unwrap_or_default()
        ),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
            let path = config.data_dir.join("parley.db");
            Ok(Arc::new(SqliteStore::open_durable(&path, config.sqlite_synchronous.into()).await?))
        }
    }
}

/// The sent journal's file name. An embedded store has one node: `sent.journal`. Nodes sharing a
/// database may share the data directory too, and each keeps its own journal (it truncates it as
/// the store catches up), named by host and listening address so that a node restarted in its
/// place finds it.
fn sent_journal_name(config: &Config, backend: &str) -> String {
    if backend == "sqlite" {
        return "sent.journal".into();
    }
    let host =
        std::fs::read_to_string("/proc/sys/kernel/hostname").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_default();
    let node: String = format!("{}-{}", host.trim(), config.listen)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' })
        .collect();
    format!("sent-{node}.journal")
}

/// The mail transport named by the configuration: SMTP if `--smtp-url` is set, else the outbox
/// folder in the data directory.
pub fn open_mailer(config: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    let from = config.smtp_from.parse().with_context(|| format!("--smtp-from '{}'", config.smtp_from))?;
    Ok(match &config.smtp_url {
        Some(url) => Arc::new(SmtpMailer::new(url, from).map_err(anyhow::Error::msg)?),
        None => Arc::new(FileOutbox::new(config.data_dir.join("outbox"), from)),
    })
}

/// Starts Parley on `listener` with the given clock: opens the store, creates the company and
/// first admin on first start, and serves the API until stopped.
pub async fn launch_with_listener(
    config: &Config,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Launched> {
    let mut limit_settings = parley_app::LimitSettings::default();
    for setting in &config.rate_limit {
        limit_settings.set(setting).map_err(|e| anyhow::anyhow!("--rate-limit {e}"))?;
    }
    let lock = lock_embedded_store(config)?;
    let store = open_store(config).await?;
    if lock.is_some() {
        // The last run of this node left its claims unsettled only if it was killed: no other
        // node can hold any (the lock says so), so they are taken back now, not after the lease.
        let taken = store.take_back_claims().await.context("taking back the last run's claims")?;
        if taken > 0 {
            tracing::info!(taken, "took back the claims the last run left");
        }
    }
    let app_config = AppConfig {
        email_delay: config.email_delay,
        delivery_lease: config.delivery_lease,
        sent_journal: Some(config.data_dir.join(sent_journal_name(config, store.backend()))),
        send_guard: config.send_guard,
        base_url: config.base_url.clone(),
        mail_domain: config.mail_domain(),
        reply_address_days: config.reply_address_days,
        rate_limits: config.rate_limits,
        limit_settings,
        client_ip_header: config.client_ip_header.clone(),
        support_address: config.support_address(),
        attachments_dir: config.data_dir.join("attachments"),
        attachment_max_bytes: config.attachment_max_mb * 1024 * 1024,
        allow_private_webhooks: config.allow_private_webhooks,
        incoming_log_max_bytes: config.incoming_log_mb.saturating_mul(1024 * 1024),
        ..AppConfig::default()
    };
    let app = App::new(store, clock, app_config, open_mailer(config)?);
    let first_admin = app
        .bootstrap("Parley", config.admin_email.as_deref(), config.admin_password.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("first start: {e}"))?;
    app.install_default_templates().await.map_err(|e| anyhow::anyhow!("installing templates: {e}"))?;
    app.install_core_automation().await.map_err(|e| anyhow::anyhow!("installing the core automation: {e}"))?;
    let (smtp_addr, smtp) = start_smtp_listener(config, &app).await?;
    let (stopping, stop) = watch::channel(false);
    let relay = AbortOnDrop(CountsRelay::spawn(app.clone()));
    // What happens on the other nodes sharing the store reaches this node's connections.
    let cluster = AbortOnDrop(ClusterRelay::spawn(app.clone()));
    let worker = DeliveryWorker::spawn(app.clone(), config.delivery_poll, stop.clone());
    let rebuilds = AbortOnDrop(tokio::spawn(rebuild_in_background(app.clone())));
    let connected = AbortOnDrop(tokio::spawn(tell_who_is_connected(app.clone())));
    let (metrics_addr, metrics) = match &config.metrics_listen {
        Some(at) => {
            let listener =
                TcpListener::bind(at).await.with_context(|| format!("metrics listener on {at} (--metrics-listen)"))?;
            let addr = listener.local_addr()?;
            (Some(addr), Some(tokio::spawn(parley_server::serve_metrics(listener, app.clone(), stopped(stop.clone())))))
        }
        None => (None, None),
    };
    let addr = listener.local_addr()?;
    let task = tokio::spawn(parley_server::serve(listener, app.clone(), stopped(stop)));
    Ok(Launched {
        addr,
        smtp_addr,
        metrics_addr,
        first_admin,
        app,
        stopping,
        task,
        metrics,
        worker,
        relay,
        cluster,
        _rebuilds: rebuilds,
        _connected: connected,
        smtp,
        _lock: lock,
    })
}

/// Finishes the inbox rebuilds an upgrade left to do while the server serves (R41: what users
/// wrote in before becomes theirs); a failure is logged and tried again at the next start.
async fn rebuild_in_background(app: App) {
    let started = std::time::Instant::now();
    match app.store().finish_background_rebuilds().await {
        Ok(0) => {}
        Ok(people) => tracing::info!(people, took = ?started.elapsed(), "inboxes rebuilt after the upgrade"),
        Err(error) => tracing::warn!(%error, "rebuilding inboxes after the upgrade stopped; the next start goes on"),
    }
}

/// R42: every few seconds, the store hears who is connected to this node, so that routing on
/// any node sees who is available.
async fn tell_who_is_connected(app: App) {
    let every = std::time::Duration::from_millis(parley_domain::routing::CONNECTED_EVERY_MS.unsigned_abs());
    let mut connected = std::collections::BTreeSet::new();
    loop {
        tokio::time::sleep(every).await;
        connected = app.tell_who_is_connected(&connected).await;
    }
}

/// An embedded store has one node. Its process holds `<data-dir>/parley.lock` (or `<file>.lock`
/// beside the file of a `sqlite:` URL) while it runs, so a second process on the same data fails
/// to start instead of sharing the work, and a restart knows every claim it finds is its own.
/// `None` for PostgreSQL (nodes share it) and an in-memory database.
fn lock_embedded_store(config: &Config) -> anyhow::Result<Option<std::fs::File>> {
    let path = match &config.database_url {
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
            config.data_dir.join("parley.lock")
        }
        Some(url) if url.starts_with("sqlite:") => {
            let file = url.trim_start_matches("sqlite:").trim_start_matches("//");
            let file = file.split('?').next().unwrap_or_default();
            if file.is_empty() || file.contains(":memory:") {
                return Ok(None);
            }
            std::path::PathBuf::from(format!("{file}.lock"))
        }
        Some(_) => return Ok(None),
    };
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another Parley process runs on this data ({} is locked): an embedded database has one node",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Resolves once a stop is asked for.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// The SMTP listener for incoming mail, unless `--smtp-listen off`.
async fn start_smtp_listener(
    config: &Config,
    app: &App,
) -> anyhow::Result<(Option<SocketAddr>, Option<AbortOnDrop<std::io::Result<()>>>)> {
    if config.smtp_listen.eq_ignore_ascii_case("off") {
        return Ok((None, None));
    }
    let mut smtp_config = parley_server::SmtpInConfig::new(config.mail_domain());
    smtp_config.relays = config.smtp_relays.clone();
    if let (Some(cert), Some(key)) = (&config.smtp_listen_cert, &config.smtp_listen_key) {
        smtp_config.tls = Some(parley_server::tls_acceptor(cert, key).map_err(anyhow::Error::msg)?);
    }
    let listener = TcpListener::bind(&config.smtp_listen)
        .await
        .with_context(|| format!("SMTP listener on {} (--smtp-listen; 'off' turns it off)", config.smtp_listen))?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(parley_server::serve_smtp(listener, app.clone(), smtp_config));
    Ok((Some(addr), Some(AbortOnDrop(task))))
}

/// Starts Parley on the configured address with the system clock.
pub async fn launch(config: &Config) -> anyhow::Result<Launched> {
    let listener =
        TcpListener::bind(&config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    launch_with_listener(config, listener, Arc::new(SystemClock)).await
}

/// Stops a background task (the email worker, the SMTP listener) when its owner is gone.
struct AbortOnDrop<T = ()>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
