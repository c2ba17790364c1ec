//! Where outgoing mail goes, read from `--smtp-url`: `smtp://host[:port]` (plain, port 25),
//! `smtp://…?tls=required` (STARTTLS, port 587, refused without it), `smtp://…?tls=opportunistic`
//! (STARTTLS when offered), `smtps://host[:port]` (TLS from the first byte, port 465). A user and
//! password in the URL (percent-encoded) log in; a path names this host in EHLO
//! (`smtp://relay.example/mail.acme.example`).

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use std::borrow::Cow;

/// How the conversation with the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Plain,
    StartTls { required: bool },
    Implicit,
}

pub struct Target {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<Credentials>,
    pub hello: ClientId,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let url = url::Url::parse(url).map_err(|e| format!("SMTP URL: {e}"))?;
        let host = match url.host() {
            Some(url::Host::Domain(name)) if !name.is_empty() => name.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err("SMTP URL: it names no host".into()),
        };
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some("required")) => (Security::StartTls { required: true }, 587),
            ("smtp", Some("opportunistic")) => (Security::StartTls { required: false }, 587),
            ("smtps", None) => (Security::Implicit, 465),
            (scheme, tls) => {
                return Err(format!(
                    "SMTP URL: unknown scheme {scheme:?} or tls={tls:?} \
                     (use smtp://, smtp://…?tls=required, smtp://…?tls=opportunistic or smtps://)"
                ))
            }
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_string()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(Cow::into_owned)
                .map_err(|e| format!("SMTP URL: the credentials are not UTF-8: {e}"))
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        Ok(Target { host, port: url.port().unwrap_or(default_port), security, credentials, hello })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_scheme_has_its_security_and_default_port() {
        let cases = [
            ("smtp://relay.example", Security::Plain, 25),
            ("smtp://relay.example:2525", Security::Plain, 2525),
            ("smtp://relay.example?tls=required", Security::StartTls { required: true }, 587),
            ("smtp://relay.example?tls=opportunistic", Security::StartTls { required: false }, 587),
            ("smtps://relay.example", Security::Implicit, 465),
            ("smtps://relay.example:4650", Security::Implicit, 4650),
        ];
        for (url, security, port) in cases {
            let target = Target::parse(url).unwrap();
            assert_eq!(
                (target.host.as_str(), target.security, target.port),
                ("relay.example", security, port),
                "{url}"
            );
            assert!(target.credentials.is_none());
        }
    }

    #[test]
    fn credentials_are_percent_decoded_and_a_path_names_the_hello_host() {
        let target = Target::parse("smtps://ann%40acme.example:p%3Ass@[::1]/mail.acme.example").unwrap();
        assert_eq!(target.host, "::1");
        assert_eq!(target.hello, ClientId::Domain("mail.acme.example".into()));
        let expected = Credentials::new("ann@acme.example".into(), "p:ss".into());
        assert_eq!(format!("{:?}", target.credentials.unwrap()), format!("{expected:?}"));
    }

    #[test]
    fn unknown_schemes_and_tls_modes_are_refused_with_the_choices() {
        for url in ["http://relay.example", "smtp://relay.example?tls=maybe", "smtp://", "not a url"] {
            let error = Target::parse(url).err().unwrap();
            assert!(error.starts_with("SMTP URL:"), "{url}: {error}");
        }
    }
}
