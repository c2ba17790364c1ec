//! Configuration: flags, then `PARLEY_*` environment variables, then defaults.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "parley", version, about = "Parley: omnichannel conversations for support teams")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server. With no flags: SQLite in ./parley-data, listening on 127.0.0.1:8080; the first
    /// start creates the company and prints the first admin's login.
    Serve(Box<Config>),
    /// Bring the database's schema up to date and exit, as a rolling deploy does before it starts
    /// the new version's nodes (`serve` migrates too; nodes still running the old version keep
    /// working on the new schema).
    Migrate(MigrateArgs),
    /// Move a single-node install from SQLite to an empty PostgreSQL database, keeping every
    /// conversation, message, delivery record and pending email job with its id. Stop the server
    /// first; afterwards start the nodes with --database-url and the same --data-dir (it keeps the
    /// attachments).
    MigrateStore(MigrateStoreArgs),
}

#[derive(Args, Debug, Clone)]
pub struct MigrateStoreArgs {
    /// The single node's data directory: its database (unless --from says otherwise) and its
    /// sent journal.
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "parley-data")]
    pub data_dir: PathBuf,
    /// The SQLite database to move: a sqlite: URL or a file; defaults to <data-dir>/parley.db.
    #[arg(long)]
    pub from: Option<String>,
    /// The PostgreSQL database to move into (postgres://user@host/db); it must hold no Parley data.
    #[arg(long)]
    pub to: String,
}

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// Directory of the embedded database (used when no --database-url is given).
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "parley-data")]
    pub data_dir: PathBuf,
    /// Database URL, as for `serve`.
    #[arg(long, env = "PARLEY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// `--sqlite-synchronous`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Normal,
    Full,
}

impl From<Synchronous> for parley_store_sqlite::Durability {
    fn from(s: Synchronous) -> Self {
        match s {
            Synchronous::Normal => parley_store_sqlite::Durability::Normal,
            Synchronous::Full => parley_store_sqlite::Durability::Full,
        }
    }
}

#[derive(Args, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PARLEY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Address for Prometheus metrics (`GET /metrics`), kept off the public address. Off unless set.
    #[arg(long, env = "PARLEY_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Directory for the embedded database and other local files.
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "parley-data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://path/to/parley.db, or postgres://user@host/db for several nodes
    /// sharing one database; defaults to <data-dir>/parley.db.
    #[arg(long, env = "PARLEY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// When SQLite's commits are on disk: `normal` (a commit survives a crash of Parley; a power
    /// loss or OS crash may drop the last ones) or `full` (flushed before each write is
    /// acknowledged; slower). See docs/PERFORMANCE.md.
    #[arg(long, env = "PARLEY_SQLITE_SYNCHRONOUS", value_enum, default_value_t = Synchronous::Normal)]
    pub sqlite_synchronous: Synchronous,
    /// Public URL of this server, used in links it sends out.
    #[arg(long, env = "PARLEY_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// How long a message may stay unseen before it is emailed, e.g. 60s, 1500ms, 2m.
    #[arg(long, env = "PARLEY_EMAIL_DELAY", default_value = "60s", value_parser = parse_duration)]
    pub email_delay: Duration,
    /// Send guard: how long a public message by a user is held from customers, during which its
    /// author can undo it or make it internal; 0 turns it off. Without it, 3s in a live chat and
    /// 10s elsewhere. An admin's setting in the company settings wins over either.
    #[arg(long, env = "PARLEY_SEND_GUARD", value_parser = parse_duration)]
    pub send_guard: Option<Duration>,
    /// SMTP server for outgoing email: smtp://host:port, smtp://user:pass@host:587?tls=required
    /// (STARTTLS) or smtps://user:pass@host (TLS). Without it, emails are written to
    /// <data-dir>/outbox/ and listed by the API.
    #[arg(long, env = "PARLEY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The From of outgoing email.
    #[arg(long, env = "PARLEY_SMTP_FROM", default_value = "Parley <parley@parley.localhost>")]
    pub smtp_from: String,
    /// Domain of reply addresses and Message-IDs; defaults to the domain of --smtp-from.
    #[arg(long, env = "PARLEY_MAIL_DOMAIN")]
    pub mail_domain: Option<String>,
    /// How many days a reply address works after the day its email was sent. A reply through an
    /// older one is a new request of its sender (a customer) or refused (a user).
    #[arg(long, env = "PARLEY_REPLY_ADDRESS_DAYS", default_value_t = 180)]
    pub reply_address_days: u32,
    /// Where the SMTP listener for incoming mail (replies and new requests) listens, or `off`. It
    /// takes mail only for the support address and reply addresses, and never relays.
    #[arg(long, env = "PARLEY_SMTP_LISTEN", default_value = "127.0.0.1:2525")]
    pub smtp_listen: String,
    /// A PEM certificate chain for STARTTLS on the SMTP listener (with --smtp-listen-key).
    #[arg(long, env = "PARLEY_SMTP_LISTEN_CERT", requires = "smtp_listen_key")]
    pub smtp_listen_cert: Option<PathBuf>,
    /// The PEM private key of --smtp-listen-cert.
    #[arg(long, env = "PARLEY_SMTP_LISTEN_KEY", requires = "smtp_listen_cert")]
    pub smtp_listen_key: Option<PathBuf>,
    /// Clients of the SMTP listener that relay mail for many senders (a mail server in front of
    /// Parley): they may hold more than the 10 connections one client may, up to the listener's
    /// 100. Out of the box, a relay on this machine (loopback).
    #[arg(long = "smtp-relay", env = "PARLEY_SMTP_RELAY", value_delimiter = ',', default_value = "127.0.0.1,::1")]
    pub smtp_relays: Vec<std::net::IpAddr>,
    /// The most raw mail, in MiB, the incoming log keeps (for 72 hours). Past it, new mails are
    /// still handled but keep their headers only.
    #[arg(long, env = "PARLEY_INCOMING_LOG_MB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub incoming_log_mb: u64,
    /// The address customers write to for new requests; defaults to the address of --smtp-from.
    #[arg(long, env = "PARLEY_SUPPORT_ADDRESS")]
    pub support_address: Option<String>,
    /// How often the email worker looks for due work when it has none (a few indexed reads).
    #[arg(long, env = "PARLEY_DELIVERY_POLL", default_value = "250ms", value_parser = parse_duration)]
    pub delivery_poll: Duration,
    /// How long a node's claim on email work holds: if the node dies, another (or it, restarted)
    /// takes the work over after this. Longer than sending one batch takes; shorter means a
    /// quicker take-over after a crash.
    #[arg(long, env = "PARLEY_DELIVERY_LEASE", default_value = "60s", value_parser = parse_duration)]
    pub delivery_lease: Duration,
    /// Email of the first admin, created on first start.
    #[arg(long, env = "PARLEY_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of the first admin; generated and printed once if not given.
    #[arg(long, env = "PARLEY_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Limit logins, login links, password changes and widget visitors per client and per address,
    /// answering 429 with Retry-After. Turn off only for load tests.
    #[arg(long, env = "PARLEY_RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set)]
    pub rate_limits: bool,
    /// Change one abuse limit: `<attempt>.<client|address>=<burst>/<period>`, e.g.
    /// `login.address=5/1m` (5 at once, then one a minute). Attempts: login, login_link,
    /// password_change, password_reset, visitor, contact, verify, inbound_mail, inbound_bounce.
    /// Repeat, or separate with commas. The defaults are in SECURITY.md
    #[arg(long = "rate-limit", env = "PARLEY_RATE_LIMIT", value_delimiter = ',')]
    pub rate_limit: Vec<String>,
    /// The largest file that may be attached to a message, in MiB. Files are kept in
    /// <data-dir>/attachments/.
    #[arg(long, env = "PARLEY_ATTACHMENT_MAX_MB", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub attachment_max_mb: u64,
    /// The header a reverse proxy in front of Parley puts the client's address in (for example
    /// `X-Forwarded-For`; its last entry is used). Without it, the connection's address counts.
    #[arg(long, env = "PARLEY_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,
    /// Let webhooks point inside this server's own network (loopback, private and link-local
    /// addresses, names like `localhost`). Off: such endpoints are refused, so an admin's webhook
    /// cannot reach internal services. For tests and closed networks only.
    #[arg(long, env = "PARLEY_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,
}

impl Config {
    /// The defaults, for a data directory.
    pub fn with_data_dir(data_dir: PathBuf) -> Self {
        Config {
            listen: "127.0.0.1:0".into(),
            metrics_listen: None,
            data_dir,
            database_url: None,
            sqlite_synchronous: Synchronous::Normal,
            base_url: "http://127.0.0.1".into(),
            email_delay: Duration::from_secs(60),
            send_guard: None,
            smtp_url: None,
            smtp_from: "Parley <parley@parley.localhost>".into(),
            mail_domain: None,
            reply_address_days: 180,
            smtp_listen: "127.0.0.1:0".into(),
            smtp_listen_cert: None,
            smtp_listen_key: None,
            smtp_relays: vec![std::net::Ipv4Addr::LOCALHOST.into(), std::net::Ipv6Addr::LOCALHOST.into()],
            incoming_log_mb: 1024,
            support_address: None,
            delivery_poll: Duration::from_millis(250),
            delivery_lease: Duration::from_secs(60),
            admin_email: None,
            admin_password: None,
            rate_limits: true,
            rate_limit: Vec::new(),
            attachment_max_mb: 10,
            client_ip_header: None,
            allow_private_webhooks: false,
        }
    }
}

impl Config {
    /// The address of `--smtp-from`, without its name.
    pub fn from_address(&self) -> String {
        self.smtp_from.rsplit('<').next().unwrap_or(&self.smtp_from).trim_end_matches('>').trim().to_string()
    }

    /// Where new requests are sent: `--support-address`, else the address of `--smtp-from`.
    pub fn support_address(&self) -> String {
        self.support_address.clone().unwrap_or_else(|| self.from_address())
    }

    /// The domain of Parley's addresses: `--mail-domain`, else the domain of `--smtp-from`.
    pub fn mail_domain(&self) -> String {
        if let Some(domain) = &self.mail_domain {
            return domain.clone();
        }
        let address = self.smtp_from.rsplit('<').next().unwrap_or(&self.smtp_from).trim_end_matches('>');
        address.rsplit_once('@').map(|(_, d)| d.trim().to_string()).unwrap_or_else(|| "parley.localhost".into())
    }
}

/// Secrets stay out of logs: passwords and the credentials in URLs are redacted.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("base_url", &self.base_url)
            .field("email_delay", &self.email_delay)
            .field("send_guard", &self.send_guard)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("mail_domain", &self.mail_domain)
            .field("reply_address_days", &self.reply_address_days)
            .field("smtp_listen", &self.smtp_listen)
            .field("smtp_listen_cert", &self.smtp_listen_cert)
            .field("smtp_listen_key", &self.smtp_listen_key)
            .field("smtp_relays", &self.smtp_relays)
            .field("incoming_log_mb", &self.incoming_log_mb)
            .field("support_address", &self.support_address)
            .field("delivery_poll", &self.delivery_poll)
            .field("delivery_lease", &self.delivery_lease)
            .field("admin_email", &self.admin_email)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "<redacted>"))
            .field("rate_limits", &self.rate_limits)
            .field("rate_limit", &self.rate_limit)
            .field("client_ip_header", &self.client_ip_header)
            .finish()
    }
}

/// A URL with the password of its user part replaced: `smtp://me:***@host`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    match path {
        Some(path) => format!("{scheme}://{authority}/{path}"),
        None => format!("{scheme}://{authority}"),
    }
}

/// Parses `1500ms`, `60s`, `2m` or `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("'{s}' is not a duration like 60s or 1500ms"))?;
    let ms = match unit {
        "ms" => Some(n),
        "s" | "" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(format!("'{s}': unit must be ms, s, m or h")),
    };
    ms.map(Duration::from_millis).ok_or_else(|| format!("'{s}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn secrets_are_redacted_from_debug() {
        let mut config = Config::with_data_dir("d".into());
        config.smtp_url = Some("smtp://mailer:hunter2-secret@mail.example:587?tls=required".into());
        config.database_url = Some("postgres://parley:db-secret@db/parley".into());
        config.admin_password = Some("first-admin-secret".into());
        let shown = format!("{config:?}");
        for secret in ["hunter2-secret", "db-secret", "first-admin-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("smtp://mailer:***@mail.example:587?tls=required"), "{shown}");
        assert_eq!(redact_url("smtp://relay.example:25"), "smtp://relay.example:25");
    }

    #[test]
    fn durations_in_ms_s_m_h() {
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
