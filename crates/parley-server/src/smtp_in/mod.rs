//! The SMTP listener for incoming mail (R16–R19, R45): `session.rs` is the protocol and its
//! limits, this file the I/O. It takes mail only for the support address and reply addresses (550
//! for any other recipient, so it never relays), checks the sender's rate limits at MAIL time
//! before anything is kept, bounds connections (in all and per client), a session's length and
//! idle time, offers STARTTLS when given a certificate, and hands each message to
//! `App::receive_email` — the same function the relay endpoint uses — before answering 250, so
//! an accepted mail is logged.

mod lines;
mod session;

use crate::routes::mail_in::MAX_MAIL_BYTES;
use lines::{Lines, Read};
use parley_app::{App, Via};
pub use session::Limits;
use session::{Gate, Reply, Session, Step, Transaction};
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// How the listener behaves.
#[derive(Clone)]
pub struct SmtpInConfig {
    /// The name the listener greets with.
    pub hostname: String,
    /// What one session may use: message size, recipients, lines, commands, bytes.
    pub limits: Limits,
    /// Connections served at once; more are told to come back later (421).
    pub max_connections: usize,
    /// Connections one client address may hold at once (421 beyond), so that no one client
    /// takes every slot.
    pub max_connections_per_client: usize,
    /// Clients that relay for many senders (a mail server in front of Parley): only the
    /// listener's own limit holds them.
    pub relays: Vec<IpAddr>,
    /// How long a client may stay silent.
    pub idle_timeout: Duration,
    /// How long one session may last, however busy.
    pub max_session: Duration,
    /// STARTTLS, when a certificate was given.
    pub tls: Option<TlsAcceptor>,
}

impl SmtpInConfig {
    pub fn new(hostname: impl Into<String>) -> Self {
        SmtpInConfig {
            hostname: hostname.into(),
            limits: Limits::new(MAX_MAIL_BYTES),
            max_connections: 100,
            max_connections_per_client: 10,
            relays: Vec::new(),
            idle_timeout: Duration::from_secs(120),
            max_session: Duration::from_secs(600),
            tls: None,
        }
    }
}

/// A STARTTLS acceptor from a PEM certificate chain and private key.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading certificate {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("reading key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| format!("certificate and key: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves SMTP on `listener` until the task is dropped.
pub async fn serve_smtp(listener: TcpListener, app: App, config: SmtpInConfig) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let clients = Arc::new(ClientSlots { max: config.max_connections_per_client, open: Mutex::default() });
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // A client that went away before we took it, or no file descriptors left for a moment.
            Err(error) => {
                tracing::warn!(%error, "SMTP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = slots.clone().try_acquire_owned().ok();
        let client = match config.relays.contains(&peer.ip()) {
            true => Some(None),
            false => clients.take(peer.ip()).map(Some),
        };
        let (Some(slot), Some(client)) = (slot, client) else {
            tokio::spawn(async move {
                let _ = stream.write_all(b"421 4.7.0 Too many connections, try again later\r\n").await;
            });
            continue;
        };
        let (app, config) = (app.clone(), config.clone());
        tokio::spawn(async move {
            let _slots = (slot, client);
            if let Err(error) = serve_connection(stream, peer.ip(), app, config).await {
                tracing::debug!(%error, %peer, "SMTP connection ended");
            }
        });
    }
}

/// How many connections each client address holds now.
struct ClientSlots {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One client's connection; its count goes down when it is dropped.
struct ClientSlot {
    slots: Arc<ClientSlots>,
    ip: IpAddr,
}

impl ClientSlots {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot { slots: self.clone(), ip })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// What the listener asks of Parley: whether a sender may begin a mail and a recipient is taken
/// (asked at MAIL and RCPT), and the hand-over of a complete mail, answered with its reply.
trait Mailroom: Sync {
    fn sender(&self, client: IpAddr, from: Option<&str>) -> Result<(), Reply>;
    fn recipient(&self, to: &str) -> Result<(), Reply>;
    fn deliver(&self, mail: Transaction, client: IpAddr) -> impl std::future::Future<Output = Reply> + Send;
}

impl Mailroom for App {
    fn sender(&self, client: IpAddr, from: Option<&str>) -> Result<(), Reply> {
        self.may_send_mail(Some(client), from).map_err(|retry_after_secs| {
            Reply::new(450, format!("4.7.1 Too many mails from this sender; try again in {retry_after_secs} s"))
        })
    }

    fn recipient(&self, to: &str) -> Result<(), Reply> {
        match self.takes_mail_for(to) {
            true => Ok(()),
            false => Err(Reply::new(550, "5.1.1 No such mailbox here")),
        }
    }

    async fn deliver(&self, mail: Transaction, client: IpAddr) -> Reply {
        match self.receive_email(mail.data, Via::Smtp, &mail.to, Some(client)).await {
            // The answer names nothing of what is inside: not how many mails came before.
            Ok(_) => Reply::new(250, "2.0.0 Ok: queued"),
            Err(error) => {
                tracing::error!(%error, "an incoming email could not be handled");
                Reply::new(451, "4.3.0 Temporary failure, try again later")
            }
        }
    }
}

/// The mailroom's answers to MAIL and RCPT, for one client.
struct ClientGate<'a, M> {
    room: &'a M,
    client: IpAddr,
}

impl<M: Mailroom> Gate for ClientGate<'_, M> {
    fn sender(&mut self, from: Option<&str>) -> Result<(), Reply> {
        self.room.sender(self.client, from)
    }

    fn recipient(&mut self, to: &str) -> Result<(), Reply> {
        self.room.recipient(to)
    }
}

enum Ended {
    Closed,
    StartTls,
}

async fn serve_connection(
    mut stream: tokio::net::TcpStream,
    peer: IpAddr,
    app: App,
    config: SmtpInConfig,
) -> io::Result<()> {
    let deadline = Instant::now() + config.max_session;
    let mut session = Session::new(config.hostname.clone(), config.limits.clone(), config.tls.is_some());
    stream.write_all(&session.greeting().to_wire()).await?;
    match converse(&mut stream, &mut session, &app, &config, peer, deadline).await? {
        Ended::Closed => Ok(()),
        Ended::StartTls => {
            let Some(acceptor) = config.tls.clone() else { return Ok(()) };
            let mut tls = tokio::time::timeout_at(deadline, acceptor.accept(stream)).await??;
            session.tls_started();
            converse(&mut tls, &mut session, &app, &config, peer, deadline).await.map(|_| ())
        }
    }
}

/// Reads lines and answers them until the client quits, goes quiet, runs out of time, or asks
/// for TLS. Nothing read before a STARTTLS is kept after it (the reader is dropped with its
/// buffer).
async fn converse<S: AsyncRead + AsyncWrite + Unpin, M: Mailroom>(
    stream: &mut S,
    session: &mut Session,
    room: &M,
    config: &SmtpInConfig,
    peer: IpAddr,
    deadline: Instant,
) -> io::Result<Ended> {
    let mut reader = Lines::new(stream);
    let mut line = Vec::with_capacity(1024);
    loop {
        let wait = (Instant::now() + config.idle_timeout).min(deadline);
        let read = match tokio::time::timeout_at(wait, reader.read(&mut line, session.max_line())).await {
            Ok(read) => read?,
            Err(_) => {
                let why: &[u8] = match Instant::now() >= deadline {
                    true => b"421 4.4.2 Session too long, closing\r\n",
                    false => b"421 4.4.2 Idle too long, closing\r\n",
                };
                reader.stream().write_all(why).await?;
                return Ok(Ended::Closed);
            }
        };
        let ended = match read {
            Read::Closed => return Ok(Ended::Closed),
            Read::Line { ended } => ended,
        };
        let step = session.line(&line, ended, &mut ClientGate { room, client: peer });
        let out = reader.stream();
        match step {
            Step::Quiet => {}
            Step::Reply(reply) => out.write_all(&reply.to_wire()).await?,
            Step::Close(reply) => {
                out.write_all(&reply.to_wire()).await?;
                return Ok(Ended::Closed);
            }
            Step::StartTls(reply) => {
                out.write_all(&reply.to_wire()).await?;
                return Ok(Ended::StartTls);
            }
            Step::Deliver(mail) => {
                let reply = room.deliver(mail, peer).await;
                out.write_all(&reply.to_wire()).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader};

    /// Takes every mail.
    struct Open;

    impl Mailroom for Open {
        fn sender(&self, _: IpAddr, _: Option<&str>) -> Result<(), Reply> {
            Ok(())
        }

        fn recipient(&self, _: &str) -> Result<(), Reply> {
            Ok(())
        }

        async fn deliver(&self, _: Transaction, _: IpAddr) -> Reply {
            Reply::new(250, "2.0.0 Ok: queued")
        }
    }

    /// A session over an in-memory connection, on a clock that moves only when every task waits;
    /// the task answers when the session ended.
    fn start(config: SmtpInConfig) -> (tokio::task::JoinHandle<io::Result<Instant>>, tokio::io::DuplexStream) {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let task = tokio::spawn(async move {
            let deadline = Instant::now() + config.max_session;
            let mut session = Session::new("mx", config.limits.clone(), false);
            let peer = IpAddr::from([192, 0, 2, 1]);
            converse(&mut server, &mut session, &Open, &config, peer, deadline).await.map(|_| Instant::now())
        });
        (task, client)
    }

    fn config() -> SmtpInConfig {
        SmtpInConfig {
            idle_timeout: Duration::from_secs(20),
            max_session: Duration::from_secs(60),
            ..SmtpInConfig::new("mx")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn r45_a_silent_client_is_closed_after_the_idle_time() {
        let (task, client) = start(config());
        let started = Instant::now();
        let mut lines = BufReader::new(client).lines();
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "421 4.4.2 Idle too long, closing");
        assert_eq!(task.await.unwrap().unwrap() - started, Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn r45_a_session_ends_after_its_length_however_busy_the_client_keeps_it() {
        let (task, client) = start(config());
        let started = Instant::now();
        let (read, mut write) = tokio::io::split(client);
        let mut lines = BufReader::new(read).lines();
        let mut answers = Vec::new();
        write.write_all(b"EHLO client\r\n").await.unwrap();
        loop {
            let line = lines.next_line().await.unwrap().unwrap();
            if line.starts_with("421") {
                answers.push(line);
                break;
            }
            if line.starts_with("250 ") {
                // A NOOP every 15 s: never idle for long.
                tokio::time::sleep(Duration::from_secs(15)).await;
                // The last one may meet a connection the server has just closed.
                let _ = write.write_all(b"NOOP\r\n").await;
            }
        }
        assert_eq!(answers, ["421 4.4.2 Session too long, closing"]);
        assert_eq!(task.await.unwrap().unwrap() - started, Duration::from_secs(60));
    }
}
