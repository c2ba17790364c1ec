//! SMTP conversations kept open and reused, up to [`CONNECTIONS`] at once.
//!
//! Parley opens each connection itself, rather than through lettre's pool, to turn off Nagle's
//! algorithm: lettre writes a message and its final dot in two writes, and with Nagle the dot waits
//! for the server's delayed acknowledgement of the message (about 40 ms on Linux), which held one
//! connection to about 23 emails a second. lettre still speaks the protocol (EHLO, STARTTLS, AUTH,
//! MAIL/RCPT/DATA).

use crate::smtp_target::{Security, Target};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::rustls;

/// SMTP conversations open and in use at once. Each email waits on the network, so throughput
/// comes from several conversations at a time.
pub const CONNECTIONS: usize = 8;
/// How long connecting, and each email, may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// A connection idle longer than this is asked whether it is still there (NOOP) before use.
const CHECK_AFTER: Duration = Duration::from_secs(1);
/// A connection idle longer than this is closed rather than reused: servers drop idle clients.
const CLOSE_AFTER: Duration = Duration::from_secs(60);

struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

pub struct SmtpPool {
    target: Target,
    /// For STARTTLS, made once.
    starttls: Option<TlsParameters>,
    /// For TLS from the first byte, made once.
    implicit: Option<tokio_rustls::TlsConnector>,
    idle: Mutex<Vec<Idle>>,
    permits: Semaphore,
}

impl SmtpPool {
    pub fn new(target: Target) -> Result<SmtpPool, String> {
        let starttls = match target.security {
            Security::StartTls { .. } => {
                Some(TlsParameters::new(target.host.clone()).map_err(|e| format!("SMTP TLS settings: {e}"))?)
            }
            _ => None,
        };
        let implicit = match target.security {
            Security::Implicit => Some(tls_connector()?),
            _ => None,
        };
        Ok(SmtpPool { target, starttls, implicit, idle: Mutex::default(), permits: Semaphore::new(CONNECTIONS) })
    }

    /// Sends one email over a pooled connection (opening one if none is idle).
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), String> {
        let _permit = self.permits.acquire().await.map_err(|_| "the SMTP pool is closed".to_string())?;
        // A NOOP to an idle connection waits on the server too, so it shares the connect timeout.
        let checkout = async {
            match self.reuse().await {
                Some(connection) => Ok(connection),
                None => self.connect().await,
            }
        };
        let mut connection = tokio::time::timeout(TIMEOUT, checkout)
            .await
            .map_err(|_| format!("connecting to {}:{} timed out", self.target.host, self.target.port))??;
        match tokio::time::timeout(TIMEOUT, connection.send(envelope, message)).await {
            Ok(Ok(_)) => {
                if !connection.has_broken() {
                    self.lock().push(Idle { connection, since: Instant::now() });
                }
                Ok(())
            }
            Ok(Err(error)) => {
                connection.abort().await;
                Err(error.to_string())
            }
            Err(_) => Err(format!("the SMTP server did not accept the email within {} s", TIMEOUT.as_secs())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The most recently used idle connection that is still usable, if any.
    async fn reuse(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let Idle { mut connection, since } = self.lock().pop()?;
            let idle = since.elapsed();
            if idle > CLOSE_AFTER {
                connection.abort().await;
                continue;
            }
            if idle < CHECK_AFTER || connection.test_connected().await {
                return Some(connection);
            }
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let Target { host, port, hello, .. } = &self.target;
        let failed = |what: &str, e: &dyn std::fmt::Display| format!("{what} {host}:{port}: {e}");
        let tcp = TcpStream::connect((host.as_str(), *port)).await.map_err(|e| failed("connecting to", &e))?;
        tcp.set_nodelay(true).map_err(|e| failed("setting up the connection to", &e))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.implicit {
            Some(connector) => {
                let name =
                    rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| failed("TLS name of", &e))?;
                Box::new(ImplicitTls(connector.connect(name, tcp).await.map_err(|e| failed("TLS with", &e))?))
            }
            None => Box::new(tcp),
        };
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(stream, hello).await.map_err(|e| failed("greeting", &e))?;
        if let (Security::StartTls { required }, Some(parameters)) = (self.target.security, &self.starttls) {
            if required || connection.can_starttls() {
                connection.starttls(parameters.clone(), hello).await.map_err(|e| failed("STARTTLS with", &e))?;
            }
        }
        if let Some(credentials) = &self.target.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| failed("logging in to", &e))?;
        }
        Ok(connection)
    }
}

/// TLS from the first byte (`smtps://`), checked against the same web roots lettre uses for
/// STARTTLS.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("SMTP TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A TLS stream lettre can speak SMTP over.
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
