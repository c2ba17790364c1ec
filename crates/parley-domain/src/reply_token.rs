//! R16: the token in an email's reply address. It names one conversation and one recipient and is
//! signed with the installation's secret, so it cannot be guessed or altered; a reply through it
//! can only post into that conversation, as that recipient. R44: it also names the day it was
//! made, and expires (see [`Verified::expired`]).
//!
//! Layout before encoding: conversation id (8 bytes), party kind (1), party id (8), the day it was
//! made (4, days since 1970-01-01), then the first 12 bytes of HMAC-SHA256 over what precedes.
//! Encoded as lowercase base32 without padding (53 characters), because some mail systems change
//! the case of addresses. Tokens made before they named a day (47 characters) still verify and
//! count as made on [`UNDATED_DAY`].

use crate::ids::ConversationId;
use crate::party::Party;
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const TAG_LEN: usize = 12;
const UNDATED_LEN: usize = 17;
const BODY_LEN: usize = UNDATED_LEN + 4;
const DAY_MS: i64 = 86_400_000;
/// The day tokens began to name their day (2026-12-07): an older token counts as made then, so it
/// expires one lifetime after it.
pub const UNDATED_DAY: u32 = 20_794;

/// Who and where a valid token sends a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTarget {
    pub conversation_id: ConversationId,
    pub party: Party,
}

/// A token whose signature matched: where it leads, and when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub target: ReplyTarget,
    /// Days since 1970-01-01 (UTC) of the day it was made.
    pub day: u32,
}

impl Verified {
    /// Whether the token is past its lifetime at `now` (ms): it is good for `lifetime_days` whole
    /// days after the day it was made.
    pub fn expired(&self, now: i64, lifetime_days: u32) -> bool {
        now.div_euclid(DAY_MS) > i64::from(self.day) + i64::from(lifetime_days)
    }
}

fn tag(secret: &[u8], body: &[u8]) -> Option<[u8; TAG_LEN]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(body);
    let full = mac.finalize().into_bytes();
    let mut out = [0_u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    Some(out)
}

fn body(target: ReplyTarget, day: u32) -> [u8; BODY_LEN] {
    let mut b = [0_u8; BODY_LEN];
    b[..8].copy_from_slice(&target.conversation_id.0.to_be_bytes());
    b[8] = if target.party.is_customer() { b'c' } else { b'u' };
    b[9..17].copy_from_slice(&target.party.raw_id().to_be_bytes());
    b[17..].copy_from_slice(&day.to_be_bytes());
    b
}

/// The day (since 1970-01-01, UTC) of `ms`.
pub fn day_of(ms: i64) -> u32 {
    u32::try_from(ms.div_euclid(DAY_MS)).unwrap_or(0)
}

/// The token for `target`, made at `now` (ms), signed with `secret`.
pub fn sign(secret: &[u8], target: ReplyTarget, now: i64) -> String {
    let body = body(target, day_of(now));
    let mut bytes = body.to_vec();
    // HMAC accepts keys of any length, so `tag` cannot fail here.
    bytes.extend_from_slice(&tag(secret, &body).unwrap_or_default());
    BASE32_NOPAD.encode(&bytes).to_ascii_lowercase()
}

/// The target and day of a token, if it is well-formed and its signature matches (expired or
/// not: the caller decides what an expired one does).
pub fn verify(secret: &[u8], token: &str) -> Option<Verified> {
    let bytes = BASE32_NOPAD.decode(token.to_ascii_uppercase().as_bytes()).ok()?;
    let body_len = match bytes.len() {
        n if n == BODY_LEN + TAG_LEN => BODY_LEN,
        n if n == UNDATED_LEN + TAG_LEN => UNDATED_LEN,
        _ => return None,
    };
    let (body, given) = bytes.split_at(body_len);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(body);
    // Constant-time comparison of the truncated tag.
    mac.verify_truncated_left(given).ok()?;
    if body[8] != b'c' && body[8] != b'u' {
        return None;
    }
    let id = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    let conversation_id = ConversationId(id(&body[..8])?);
    let party = Party::from_parts(if body[8] == b'c' { "customer" } else { "user" }, id(&body[9..17])?)?;
    let day = match body.get(17..21) {
        Some(day) => u32::from_be_bytes(day.try_into().ok()?),
        None => UNDATED_DAY,
    };
    Some(Verified { target: ReplyTarget { conversation_id, party }, day })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustomerId, UserId};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    /// 2026-12-07 12:00 UTC.
    const NOW: i64 = 1_796_644_800_000;
    const DAY: i64 = 86_400_000;

    fn target() -> ReplyTarget {
        ReplyTarget { conversation_id: ConversationId(42), party: Party::Customer(CustomerId(7)) }
    }

    #[test]
    fn r16_token_round_trips_and_fits_an_address() {
        let token = sign(SECRET, target(), NOW);
        assert_eq!(token.len(), 53);
        assert!(token.len() + "reply+".len() <= 64, "an address's local part holds at most 64");
        assert!(token.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        let verified = Verified { target: target(), day: 20_794 };
        assert_eq!(verify(SECRET, &token), Some(verified));
        assert_eq!(verify(SECRET, &token.to_uppercase()), Some(verified), "case does not matter");
    }

    #[test]
    fn r16_altered_or_foreign_tokens_are_refused() {
        let token = sign(SECRET, target(), NOW);
        assert_eq!(verify(b"another secret", &token), None);
        let other =
            sign(SECRET, ReplyTarget { conversation_id: ConversationId(42), party: Party::User(UserId(7)) }, NOW);
        assert_ne!(other, token);
        // Flip each character in turn: every change is caught.
        for i in 0..token.len() {
            let mut chars: Vec<char> = token.chars().collect();
            chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
            let altered: String = chars.into_iter().collect();
            assert_eq!(verify(SECRET, &altered), None, "position {i}");
        }
        assert_eq!(verify(SECRET, ""), None);
        assert_eq!(verify(SECRET, "not-base32!"), None);
    }

    #[test]
    fn r44_a_token_expires_a_lifetime_after_its_day() {
        let made = verify(SECRET, &sign(SECRET, target(), NOW)).unwrap();
        assert!(!made.expired(NOW, 90));
        assert!(!made.expired(NOW + 90 * DAY, 90), "good for 90 whole days after its day");
        assert!(made.expired(NOW + 91 * DAY, 90));
        assert!(made.expired(NOW + DAY, 0), "a lifetime of 0 days ends with the day");
    }

    #[test]
    fn r44_a_token_from_before_days_counts_as_made_on_the_undated_day() {
        // The layout without a day: conversation, party, then the tag over those 17 bytes.
        let mut undated = body(target(), 0)[..UNDATED_LEN].to_vec();
        let tag = tag(SECRET, &undated).unwrap();
        undated.extend_from_slice(&tag);
        let token = BASE32_NOPAD.encode(&undated).to_ascii_lowercase();
        assert_eq!(token.len(), 47);
        assert_eq!(verify(SECRET, &token), Some(Verified { target: target(), day: UNDATED_DAY }));
        // Its day cannot be moved: a day appended to an undated token breaks the signature.
        let mut moved = body(target(), 30_000).to_vec();
        moved.extend_from_slice(&tag);
        assert_eq!(verify(SECRET, &BASE32_NOPAD.encode(&moved).to_ascii_lowercase()), None);
    }
}
