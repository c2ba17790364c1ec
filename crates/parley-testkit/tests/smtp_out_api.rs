//! R14: outgoing email through Parley's own SMTP connection pool, against real SMTP servers:
//! connections are reused, at most a fixed number are open, and TLS, when asked for, is never
//! dropped to plain text or to an unverified server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lettre::message::Mailbox;
use parley_app::Mailer;
use parley_mail::{SmtpMailer, SMTP_CONNECTIONS};
use parley_store::{NewOutgoingEmail, OutgoingEmail};
use parley_testkit::*;
use std::sync::Arc;
use std::time::Duration;

fn email(n: usize) -> OutgoingEmail {
    OutgoingEmail::queued(
        parley_domain::OutgoingEmailId(n as i64),
        NewOutgoingEmail {
            created_at: 0,
            conversation_id: None,
            party: None,
            to_address: format!("person{n}@client.example"),
            to_name: format!("Person {n}"),
            subject: format!("Email {n}"),
            body_text: "Hello".into(),
            body_html: "<p>Hello</p>".into(),
            message_id_header: format!("<email{n}@parley.test>"),
            in_reply_to: None,
            references: None,
            reply_to: None,
            secret: None,
        },
    )
}

fn from() -> Mailbox {
    "Parley <parley@parley.test>".parse().unwrap()
}

#[tokio::test]
async fn r14_emails_go_out_over_a_few_reused_smtp_connections() {
    let sink = SmtpSink::start().await;
    let mailer = Arc::new(SmtpMailer::new(&sink.url(), from()).unwrap());
    for n in 0..20 {
        mailer.send(&email(n)).await.unwrap();
    }
    assert_eq!(sink.connections(), 1, "one after another, the same connection carries them all");
    let sends = (20..120).map(|n| {
        let mailer = mailer.clone();
        tokio::spawn(async move { mailer.send(&email(n)).await })
    });
    for sent in futures_util::future::join_all(sends).await {
        sent.unwrap().unwrap();
    }
    let mails = sink.wait_for(120, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 120);
    for n in 0..120 {
        let to = format!("person{n}@client.example");
        assert_eq!(mails.iter().filter(|m| m.to == [to.clone()]).count(), 1, "{to}");
    }
    let opened = sink.connections();
    assert!(opened > 1 && opened <= SMTP_CONNECTIONS, "{opened} connections for 100 at once");
}

#[tokio::test]
async fn r14_tls_required_is_never_dropped_to_plain_text() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(&format!("{}?tls=required", sink.url()), from()).unwrap();
    let error = mailer.send(&email(1)).await.unwrap_err();
    assert!(error.contains("STARTTLS"), "{error}");
    assert!(sink.mails().is_empty(), "nothing went out in plain text");
}

/// A certificate no public authority signed, for a server on this machine.
fn self_signed(dir: &std::path::Path) -> tokio_rustls::TlsAcceptor {
    let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    parley_server::tls_acceptor(&cert_path, &key_path).unwrap()
}

#[tokio::test]
async fn r14_starttls_checks_the_servers_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let _ = self_signed(dir.path());
    let app = spawn_app_with(|c| {
        c.smtp_listen_cert = Some(cert_path.clone());
        c.smtp_listen_key = Some(key_path.clone());
    })
    .await;
    let url = format!("smtp://localhost:{}?tls=required", app.smtp_in.port());
    let error = SmtpMailer::new(&url, from()).unwrap().send(&email(1)).await.unwrap_err();
    assert!(error.starts_with("STARTTLS with localhost:") && error.contains("certificate"), "{error}");
}

#[tokio::test]
async fn r14_smtps_speaks_tls_from_the_first_byte_and_checks_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let acceptor = self_signed(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        // The client's first bytes are a TLS hello, which it then aborts over the certificate.
        acceptor.accept(tcp).await.err().map(|e| e.to_string())
    });
    let url = format!("smtps://localhost:{port}");
    let error = SmtpMailer::new(&url, from()).unwrap().send(&email(1)).await.unwrap_err();
    assert!(error.starts_with("TLS with localhost:") && error.contains("certificate"), "{error}");
    let refused = server.await.unwrap();
    assert!(refused.is_some(), "the server saw a TLS handshake, not SMTP in plain text");
}
