//! The SMTP listener for incoming mail (R16–R19): mailin speaks the protocol, this file does the
//! I/O. It takes mail only for the support address and reply addresses (550 for any other
//! recipient, so it never relays), limits message size, connections and idle time, offers STARTTLS
//! when given a certificate, and hands each message to `App::receive_email` — the same function
//! the relay endpoint uses — before answering 250, so an accepted mail is logged.

use crate::routes::mail_in::MAX_MAIL_BYTES;
use mailin::{Action, Handler, Response, SessionBuilder};
use parley_app::{App, Via};
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// How the listener behaves.
#[derive(Clone)]
pub struct SmtpInConfig {
    /// The name the listener greets with.
    pub hostname: String,
    /// Largest message accepted (552 beyond).
    pub max_bytes: usize,
    /// Connections served at once; more are told to come back later (421).
    pub max_connections: usize,
    /// How long a client may stay silent.
    pub idle_timeout: Duration,
    /// STARTTLS, when a certificate was given.
    pub tls: Option<TlsAcceptor>,
}

impl SmtpInConfig {
    pub fn new(hostname: impl Into<String>) -> Self {
        SmtpInConfig {
            hostname: hostname.into(),
            max_bytes: MAX_MAIL_BYTES,
            max_connections: 100,
            idle_timeout: Duration::from_secs(120),
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
    let mut builder = SessionBuilder::new(config.hostname.clone());
    if config.tls.is_some() {
        builder.enable_start_tls();
    }
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
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let _ = stream.write_all(b"421 4.7.0 Too many connections, try again later\r\n").await;
            });
            continue;
        };
        let (app, config, builder) = (app.clone(), config.clone(), builder.clone());
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(error) = serve_connection(stream, peer.ip(), app, config, builder).await {
                tracing::debug!(%error, %peer, "SMTP connection ended");
            }
        });
    }
}

/// What the protocol handler collected for one message.
#[derive(Default)]
struct Envelope {
    recipients: Vec<String>,
    data: Vec<u8>,
    too_large: bool,
    /// A message whose data ended, waiting for the I/O loop.
    complete: Option<Complete>,
}

enum Complete {
    Message { raw: Vec<u8>, recipients: Vec<String> },
    TooLarge,
}

/// mailin's callbacks: decide recipients and collect data. The handing over happens in the I/O
/// loop, which can wait for the store.
struct Collector {
    app: App,
    max_bytes: usize,
    envelope: Arc<Mutex<Envelope>>,
}

impl Collector {
    fn with<T>(&self, f: impl FnOnce(&mut Envelope) -> T) -> T {
        // A poisoned lock only means another callback of this same connection panicked.
        let mut envelope = self.envelope.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut envelope)
    }
}

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        self.with(|e| *e = Envelope::default());
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let to = to.trim().trim_start_matches('<').trim_end_matches('>');
        if !self.app.takes_mail_for(to) {
            return mailin::response::NO_MAILBOX;
        }
        self.with(|e| e.recipients.push(to.to_string()));
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        let max = self.max_bytes;
        self.with(|e| {
            if e.data.len() + buf.len() > max {
                // Read to the end and refuse then: an error now would answer every further line.
                e.too_large = true;
                e.data = Vec::new();
            } else if !e.too_large {
                e.data.extend_from_slice(buf);
            }
        });
        Ok(())
    }

    /// Always OK to mailin: it stays in its data state after an error answer here, so the I/O
    /// loop gives the real answer (250, 451 or 552) instead.
    fn data_end(&mut self) -> Response {
        self.with(|e| {
            let complete = if e.too_large {
                Complete::TooLarge
            } else {
                Complete::Message { raw: std::mem::take(&mut e.data), recipients: std::mem::take(&mut e.recipients) }
            };
            *e = Envelope { complete: Some(complete), ..Envelope::default() };
        });
        mailin::response::OK
    }
}

/// The longest line read at once: commands are at most 512 bytes and text lines 1,000 (RFC 5321),
/// but some clients write longer ones; beyond this the client is cut off.
const MAX_LINE: u64 = 64 * 1024;

enum Ended {
    Closed,
    StartTls,
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: IpAddr,
    app: App,
    config: SmtpInConfig,
    builder: SessionBuilder,
) -> io::Result<()> {
    let envelope = Arc::new(Mutex::new(Envelope::default()));
    let collector = Collector { app: app.clone(), max_bytes: config.max_bytes, envelope: envelope.clone() };
    let mut session = builder.build(peer, collector);
    let mut stream = stream;
    stream.write_all(&session.greeting().buffer()?).await?;
    match converse(&mut stream, &mut session, &envelope, &app, &config, peer).await? {
        Ended::Closed => Ok(()),
        Ended::StartTls => {
            let Some(acceptor) = config.tls.clone() else { return Ok(()) };
            let mut tls = acceptor.accept(stream).await?;
            session.tls_active();
            converse(&mut tls, &mut session, &envelope, &app, &config, peer).await.map(|_| ())
        }
    }
}

/// Reads lines and answers them until the client quits, goes quiet, or asks for TLS. Nothing read
/// before a STARTTLS is kept after it (the reader is dropped with its buffer).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    session: &mut mailin::Session<Collector>,
    envelope: &Arc<Mutex<Envelope>>,
    app: &App,
    config: &SmtpInConfig,
    peer: IpAddr,
) -> io::Result<Ended> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_LINE);
        let n = match tokio::time::timeout(config.idle_timeout, limited.read_until(b'\n', &mut line)).await {
            Ok(result) => result?,
            Err(_) => {
                reader.get_mut().write_all(b"421 4.4.2 Idle too long, closing\r\n").await?;
                return Ok(Ended::Closed);
            }
        };
        if n == 0 {
            return Ok(Ended::Closed);
        }
        if !line.ends_with(b"\n") {
            reader.get_mut().write_all(b"500 5.5.2 Line too long\r\n").await?;
            return Ok(Ended::Closed);
        }
        // mailin expects CRLF; a bare LF from a lenient client is read as one.
        if !line.ends_with(b"\r\n") {
            line.pop();
            line.extend_from_slice(b"\r\n");
        }
        let mut response = session.process(&line);
        let complete = envelope.lock().unwrap_or_else(|p| p.into_inner()).complete.take();
        match complete {
            None => {}
            Some(Complete::TooLarge) => response = Response::custom(552, "5.3.4 Message too large".to_string()),
            Some(Complete::Message { raw, recipients }) => {
                response = match app.receive_email(raw, Via::Smtp, &recipients, Some(peer)).await {
                    Ok(logged) => Response::custom(250, format!("2.0.0 Ok: logged as incoming email {}", logged.id)),
                    Err(error) => {
                        tracing::error!(%error, "an incoming email could not be handled");
                        Response::custom(451, "4.3.0 Temporary failure, try again later".to_string())
                    }
                };
            }
        }
        match response.action {
            Action::NoReply => {}
            Action::Reply => reader.get_mut().write_all(&response.buffer()?).await?,
            Action::Close => {
                reader.get_mut().write_all(&response.buffer()?).await?;
                return Ok(Ended::Closed);
            }
            Action::UpgradeTls => {
                reader.get_mut().write_all(&response.buffer()?).await?;
                return Ok(Ended::StartTls);
            }
        }
    }
}
