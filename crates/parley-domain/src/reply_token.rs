//! R16: the token in an email's reply address. It names one conversation and one recipient and is
//! signed with the installation's secret, so it cannot be guessed or altered; a reply through it
//! can only post into that conversation, as that recipient.
//!
//! Layout before encoding: conversation id (8 bytes), party kind (1), party id (8), then the first
//! 12 bytes of HMAC-SHA256 over those 17 bytes. Encoded as lowercase base32 without padding (47
//! characters), because some mail systems change the case of addresses.

use crate::ids::ConversationId;
use crate::party::Party;
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const TAG_LEN: usize = 12;
const BODY_LEN: usize = 17;

/// Who and where a valid token sends a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTarget {
    pub conversation_id: ConversationId,
    pub party: Party,
}

fn tag(secret: &[u8], body: &[u8]) -> Option<[u8; TAG_LEN]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(body);
    let full = mac.finalize().into_bytes();
    let mut out = [0_u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    Some(out)
}

fn body(target: ReplyTarget) -> [u8; BODY_LEN] {
    let mut b = [0_u8; BODY_LEN];
    b[..8].copy_from_slice(&target.conversation_id.0.to_be_bytes());
    b[8] = if target.party.is_customer() { b'c' } else { b'u' };
    b[9..].copy_from_slice(&target.party.raw_id().to_be_bytes());
    b
}

/// The token for `target`, signed with `secret`.
pub fn sign(secret: &[u8], target: ReplyTarget) -> String {
    let body = body(target);
    let mut bytes = body.to_vec();
    // HMAC accepts keys of any length, so `tag` cannot fail here.
    bytes.extend_from_slice(&tag(secret, &body).unwrap_or_default());
    BASE32_NOPAD.encode(&bytes).to_ascii_lowercase()
}

/// The target of a token, if it is well-formed and its signature matches.
pub fn verify(secret: &[u8], token: &str) -> Option<ReplyTarget> {
    let bytes = BASE32_NOPAD.decode(token.to_ascii_uppercase().as_bytes()).ok()?;
    if bytes.len() != BODY_LEN + TAG_LEN {
        return None;
    }
    let (body, given) = bytes.split_at(BODY_LEN);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(body);
    // Constant-time comparison of the truncated tag.
    mac.verify_truncated_left(given).ok()?;
    let id = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    let conversation_id = ConversationId(id(&body[..8])?);
    let party = Party::from_parts(if body[8] == b'c' { "customer" } else { "user" }, id(&body[9..])?)?;
    if body[8] != b'c' && body[8] != b'u' {
        return None;
    }
    Some(ReplyTarget { conversation_id, party })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustomerId, UserId};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn target() -> ReplyTarget {
        ReplyTarget { conversation_id: ConversationId(42), party: Party::Customer(CustomerId(7)) }
    }

    #[test]
    fn r16_token_round_trips_and_fits_an_address() {
        let token = sign(SECRET, target());
        assert_eq!(token.len(), 47);
        assert!(token.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_eq!(verify(SECRET, &token), Some(target()));
        assert_eq!(verify(SECRET, &token.to_uppercase()), Some(target()), "case does not matter");
    }

    #[test]
    fn r16_altered_or_foreign_tokens_are_refused() {
        let token = sign(SECRET, target());
        assert_eq!(verify(b"another secret", &token), None);
        let other = sign(SECRET, ReplyTarget { conversation_id: ConversationId(42), party: Party::User(UserId(7)) });
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
}
