//! §10 webhooks: what an admin registers (an endpoint and the events it wants), which events it
//! hears (never an internal one unless allowed), where it may point (not inside the server's own
//! network unless the server allows it), how a payload is signed (Standard Webhooks style) and
//! when a failed delivery is tried again.

use crate::entities::str_enum;
use crate::ids::WebhookId;
use crate::values::{parse_name, ValidationError};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use utoipa::ToSchema;

str_enum!(
    /// What a webhook can hear of.
    WebhookEvent {
        /// A message was posted (by a person, the bot, or email in).
        MessageCreated => "message_created",
        /// A conversation was closed, reopened or locked.
        ConversationStateChanged => "conversation_state_changed",
        ItemCreated => "item_created",
        /// An item's status or assignees changed.
        ItemUpdated => "item_updated",
        /// An outgoing email could not be delivered, after every try.
        DeliveryFailed => "delivery_failed",
        /// An automation with the action `call_webhook` fired; sent to its webhook whatever the
        /// webhook's events.
        Automation => "automation",
    }
);

str_enum!(
    /// Where a delivery stands.
    DeliveryState {
        /// Waiting for its first or next try.
        Pending => "pending",
        /// The endpoint answered 2xx.
        Delivered => "delivered",
        /// Every try failed; no more are made.
        Failed => "failed",
        /// Stopped before it went out (R44): what it announced was taken back or made internal,
        /// the webhook's "internal" was turned off, or its URL changed.
        Cancelled => "cancelled",
    }
);

/// What an admin sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookSpec {
    pub name: String,
    /// Where events are POSTed: `https://…` (or `http://…`).
    pub url: String,
    /// The events it wants.
    pub events: Vec<WebhookEvent>,
    /// Whether it may hear of internal messages and conversations. Off by default: then it never
    /// does.
    pub internal: bool,
}

/// A webhook as stored; its signing secret is shown only when made or renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Webhook {
    pub id: WebhookId,
    #[serde(flatten)]
    pub spec: WebhookSpec,
    pub enabled: bool,
    #[serde(skip)]
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Webhook {
    /// Whether this webhook hears of `event`: it is on, wants the event, and the event is not
    /// internal unless it may hear of internal ones. A `call_webhook` automation's event goes to
    /// its own webhook only, asked for by name.
    pub fn hears(&self, event: WebhookEvent, internal: bool) -> bool {
        self.enabled && (!internal || self.spec.internal) && self.spec.events.contains(&event)
    }

    /// Whether an automation may call it with an event that is `internal` or not.
    pub fn may_be_called(&self, internal: bool) -> bool {
        self.enabled && (!internal || self.spec.internal)
    }
}

/// The longest URL taken.
const MAX_URL_CHARS: usize = 2000;

/// A webhook as an admin sets it, checked: a name, an `http(s)` URL without credentials whose
/// host is not (by its name or its address) inside the server's own network unless
/// `allow_private`, and at least one event. The host's addresses are checked again on every
/// delivery, when it is resolved.
pub fn check(spec: WebhookSpec, allow_private: bool) -> Result<WebhookSpec, ValidationError> {
    let name = parse_name("name", &spec.name)?;
    let url = check_url(&spec.url, allow_private)?;
    let mut events = spec.events;
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(ValidationError::new("events", "name at least one event"));
    }
    Ok(WebhookSpec { name, url, events, internal: spec.internal })
}

fn check_url(raw: &str, allow_private: bool) -> Result<String, ValidationError> {
    let invalid = |why: &str| ValidationError::new("url", why.to_string());
    let raw = raw.trim();
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(invalid("is too long"));
    }
    let url = url::Url::parse(raw).map_err(|e| invalid(&format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must start with https:// or http://"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not hold a user name or password: the signature proves who sends"));
    }
    let private = match url.host() {
        None => return Err(invalid("needs a host")),
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => is_local_name(name),
    };
    if private && !allow_private {
        return Err(invalid(
            "points inside the server's own network (loopback, private or link-local), which is refused",
        ));
    }
    Ok(url.to_string())
}

/// Host names that never leave the machine or the local network.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || [".localhost", ".local", ".internal", ".localdomain", ".home.arpa"].iter().any(|s| name.ends_with(s))
        || !name.contains('.')
}

/// Whether `ip` is an address on the public internet: not loopback, private, shared, link-local,
/// unspecified, broadcast, multicast, documentation or reserved, in IPv4 or IPv6 (with IPv4
/// inside IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

/// An IPv6 address is judged by the IPv4 address it carries, where it carries one (compatible
/// `::a.b.c.d`, mapped `::ffff:a.b.c.d`, translated `::ffff:0:a.b.c.d`, 6to4 `2002:aabb:ccdd::`);
/// otherwise loopback, unspecified, multicast, unique-local, link-local, site-local, Teredo,
/// NAT64, discard, ORCHID and documentation ranges are inside.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] | [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] => {
            return is_public_v4(v4(hi, lo))
        }
        [0x2002, hi, lo, ..] => return is_public_v4(v4(hi, lo)),
        _ => {}
    }
    let first = s[0];
    !(ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || (first == 0x2001 && s[1] == 0)
        || (first == 0x2001 && s[1] == 0x0db8)
        || (first == 0x2001 && matches!(s[1] & 0xfff0, 0x0010 | 0x0020))
        || (first == 0x0064 && s[1] == 0xff9b)
        || (first == 0x0100 && s[1..4] == [0, 0, 0])
        || (first == 0x3fff && s[1] < 0x1000))
}

/// What a queued delivery names, so it can be decided again when it is sent (R44).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySubject {
    /// It was about something internal when queued.
    pub internal: bool,
    /// The message it announces, as it stands now: `None` when it names none (or the message is
    /// gone).
    pub message: Option<crate::access::MessageFacts>,
    /// It names a message that no longer exists.
    pub message_gone: bool,
}

/// What to do with a delivery about to be tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeTry {
    Send,
    /// Not now: the message is still within the send guard (an admin's "send again" of it).
    WaitUntil(i64),
    /// Never: why, as the deliveries log shows it.
    Cancel(&'static str),
}

/// R44, decided at the door: a delivery goes out only if its webhook may still hear it, and
/// what it announces still stands as it was announced — not taken back, not made internal, not
/// still held by the send guard.
pub fn before_try(webhook: &Webhook, subject: DeliverySubject, now: i64) -> BeforeTry {
    if subject.internal && !webhook.spec.internal {
        return BeforeTry::Cancel("the webhook no longer hears internal events");
    }
    if subject.message_gone {
        return BeforeTry::Cancel("the message is gone");
    }
    let Some(message) = subject.message else { return BeforeTry::Send };
    if message.withdrawn {
        return BeforeTry::Cancel("the message was taken back");
    }
    if message.visibility == crate::entities::Visibility::Internal && !subject.internal {
        return BeforeTry::Cancel("the message was made internal");
    }
    match message.held_until {
        Some(until) if until > now && message.visibility == crate::entities::Visibility::Public => {
            BeforeTry::WaitUntil(until)
        }
        _ => BeforeTry::Send,
    }
}

/// The prefix of a webhook's signing secret, as Standard Webhooks writes it.
pub const SECRET_PREFIX: &str = "whsec_";

/// The signing key of a secret `whsec_<base64>`; `None` for anything else.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX)?;
    data_encoding::BASE64.decode(encoded.as_bytes()).ok().filter(|k| !k.is_empty())
}

/// The secret of a signing key.
pub fn secret_of(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", data_encoding::BASE64.encode(key))
}

/// The `webhook-signature` header of a payload: `v1,` and the base64 of HMAC-SHA256 over
/// `{id}.{timestamp}.{body}` with the secret's key (Standard Webhooks).
pub fn signature(key: &[u8], id: &str, timestamp_secs: i64, body: &str) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", data_encoding::BASE64.encode(&mac.finalize().into_bytes()))
}

/// How long after the `n`-th failed try (1-based) the next one is made, in milliseconds; `None`
/// when that was the last (8 tries in all, over about 10 hours).
pub fn retry_after(failed_tries: u32) -> Option<i64> {
    const SECONDS: [i64; 7] = [5, 30, 120, 600, 1800, 3600, 4 * 3600];
    let index = usize::try_from(failed_tries).ok()?.checked_sub(1)?;
    SECONDS.get(index).map(|s| s * 1000)
}

/// The most tries a delivery gets.
pub const MAX_TRIES: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> WebhookSpec {
        WebhookSpec { name: "CRM".into(), url: url.into(), events: vec![WebhookEvent::MessageCreated], internal: false }
    }

    #[test]
    fn webhooks_refuse_endpoints_inside_the_network_unless_allowed() {
        for bad in [
            "http://127.0.0.1/hook",
            "http://localhost:8080/",
            "https://10.1.2.3/x",
            "https://192.168.0.10/",
            "https://172.16.5.5/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::127.0.0.1]/",
            "https://[::ffff:0:127.0.0.1]/",
            "https://[2002:7f00:1::]/",
            "https://[2002:a9fe:a9fe::]/",
            "https://[fec0::1]/",
            "https://[2001:0:4136:e378::1]/",
            "https://[64:ff9b:1::a9fe:a9fe]/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://intranet/",
            "https://db.internal/",
            "https://printer.local/",
        ] {
            assert_eq!(check(spec(bad), false).unwrap_err().field, "url", "{bad}");
            assert!(check(spec(bad), true).is_ok(), "{bad} with the server's flag");
        }
        for good in [
            "https://hooks.example.com/parley",
            "http://203.0.114.7:8080/x",
            "https://[2606:4700::1]/",
            "https://[2002:cb00:7207::1]/",
            "https://[::ffff:203.0.114.7]/",
        ] {
            assert!(check(spec(good), false).is_ok(), "{good}");
        }
    }

    #[test]
    fn webhooks_refuse_what_is_not_an_http_endpoint() {
        for bad in ["ftp://example.com/", "example.com/hook", "https://user:pw@example.com/", "", "https://"] {
            assert_eq!(check(spec(bad), true).unwrap_err().field, "url", "{bad:?}");
        }
        let mut none = spec("https://example.com/");
        none.events.clear();
        assert_eq!(check(none, false).unwrap_err().field, "events");
    }

    #[test]
    fn webhooks_never_hear_internal_events_unless_allowed() {
        let mut hook = Webhook {
            id: WebhookId(1),
            spec: spec("https://example.com/"),
            enabled: true,
            secret: String::new(),
            created_at: 0,
            updated_at: 0,
        };
        assert!(hook.hears(WebhookEvent::MessageCreated, false));
        assert!(!hook.hears(WebhookEvent::MessageCreated, true), "internal, not allowed");
        assert!(!hook.hears(WebhookEvent::ItemCreated, false), "not asked for");
        assert!(!hook.may_be_called(true));
        hook.spec.internal = true;
        assert!(hook.hears(WebhookEvent::MessageCreated, true));
        hook.enabled = false;
        assert!(!hook.hears(WebhookEvent::MessageCreated, false) && !hook.may_be_called(false));
    }

    #[test]
    fn r44_a_delivery_goes_out_only_if_what_it_announces_still_stands() {
        use crate::access::MessageFacts;
        use crate::entities::Visibility::{Internal, Public};
        let hook = |internal: bool| Webhook {
            id: WebhookId(1),
            spec: WebhookSpec { internal, ..spec("https://example.com/") },
            enabled: true,
            secret: String::new(),
            created_at: 0,
            updated_at: 0,
        };
        let facts = |visibility, held_until, withdrawn| Some(MessageFacts { visibility, held_until, withdrawn });
        let subject = |internal, message| DeliverySubject { internal, message, message_gone: false };
        let now = 1_000;
        let cases = [
            // (webhook hears internal, queued internal, message now) => verdict
            (false, false, None, BeforeTry::Send),
            (false, false, facts(Public, None, false), BeforeTry::Send),
            (false, false, facts(Public, Some(900), false), BeforeTry::Send),
            (false, false, facts(Public, Some(1_500), false), BeforeTry::WaitUntil(1_500)),
            (false, false, facts(Public, Some(900), true), BeforeTry::Cancel("the message was taken back")),
            (true, false, facts(Public, Some(900), true), BeforeTry::Cancel("the message was taken back")),
            (false, false, facts(Internal, Some(900), false), BeforeTry::Cancel("the message was made internal")),
            (true, false, facts(Internal, Some(900), false), BeforeTry::Cancel("the message was made internal")),
            (true, true, facts(Internal, None, false), BeforeTry::Send),
            (
                false,
                true,
                facts(Internal, None, false),
                BeforeTry::Cancel("the webhook no longer hears internal events"),
            ),
            (false, true, None, BeforeTry::Cancel("the webhook no longer hears internal events")),
        ];
        for (hears, internal, message, verdict) in cases {
            assert_eq!(
                before_try(&hook(hears), subject(internal, message), now),
                verdict,
                "{hears} {internal} {message:?}"
            );
        }
        let gone = DeliverySubject { internal: false, message: None, message_gone: true };
        assert_eq!(before_try(&hook(true), gone, now), BeforeTry::Cancel("the message is gone"));
    }

    #[test]
    fn webhook_signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(secret_key(&secret_of(&key)).unwrap(), key);
        assert!(secret_key("MfKQ9r8G").is_none() && secret_key("whsec_").is_none());
    }

    #[test]
    fn webhook_retries_back_off_then_stop() {
        let waits: Vec<i64> = (1..MAX_TRIES).map(|n| retry_after(n).unwrap()).collect();
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?}");
        assert_eq!(retry_after(MAX_TRIES), None);
        assert_eq!(retry_after(0), None);
    }
}
