//! One-time secrets in emails — login links, tokens, address-verification codes — are for their
//! recipient alone: what admins read of the outgoing log shows them hidden.

/// What a secret is replaced with.
pub const HIDDEN: &str = "[hidden]";

/// The prefixes of Parley's tokens: login links, sessions, API tokens, relay tokens, password
/// links, project invitation links.
const TOKEN_PREFIXES: [&str; 6] = ["pl_", "ps_", "pt_", "pr_", "pw_", "pi_"];
/// How verification emails name their code (`Your code: 123456`, in HTML `Your code: <strong>…`).
const CODE_LEAD: &str = "Your code: ";

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `text` with every Parley token and verification code replaced by [`HIDDEN`].
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let word_start = out.chars().next_back().is_none_or(|p| !token_char(p));
        if word_start {
            if let Some(prefix) = TOKEN_PREFIXES.iter().find(|p| rest.starts_with(**p)) {
                let run = rest[prefix.len()..].find(|c: char| !token_char(c)).unwrap_or(rest.len() - prefix.len());
                // Tokens are long; a short word that happens to start like one is left alone.
                if run >= 16 {
                    out.push_str(prefix);
                    out.push_str(HIDDEN);
                    rest = &rest[prefix.len() + run..];
                    continue;
                }
            }
        }
        if let Some(after) = rest.strip_prefix(CODE_LEAD) {
            out.push_str(CODE_LEAD);
            let tag = if after.starts_with("<strong>") { "<strong>" } else { "" };
            let digits = after[tag.len()..].find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len() - tag.len());
            out.push_str(tag);
            if digits > 0 {
                out.push_str(HIDDEN);
            }
            rest = &after[tag.len() + digits..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// R44: `raw` with the reply token of every reply address (`reply+<token>@…`) and of every
/// Parley Message-ID (`parley.m<n>.<token>@…`) replaced by [`HIDDEN`]. A reply token lets a mail
/// post as its recipient: logs and raw mail shown to admins never carry one. Works on bytes, so a
/// raw mail in any charset keeps every other byte.
pub fn hide_reply_tokens(raw: &[u8]) -> Vec<u8> {
    let is_token = |b: u8| b.is_ascii_alphanumeric();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let rest = &raw[i..];
        let lead = if starts_with_ignoring_case(rest, b"reply+") {
            Some(6)
        } else if starts_with_ignoring_case(rest, b"parley.m") {
            // The message number, then a dot, then the token.
            let digits = rest[8..].iter().take_while(|b| b.is_ascii_digit()).count();
            (digits > 0 && rest.get(8 + digits) == Some(&b'.')).then_some(8 + digits + 1)
        } else {
            None
        };
        if let Some(lead) = lead {
            let run = rest[lead..].iter().take_while(|b| is_token(**b)).count();
            if run >= 8 && rest.get(lead + run) == Some(&b'@') {
                out.extend_from_slice(&rest[..lead]);
                out.extend_from_slice(HIDDEN.as_bytes());
                i += lead + run;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// [`hide_reply_tokens`] on text.
pub fn hide_reply_tokens_in(text: &str) -> String {
    String::from_utf8(hide_reply_tokens(text.as_bytes())).unwrap_or_else(|_| text.to_string())
}

fn starts_with_ignoring_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r44_reply_tokens_are_hidden_in_addresses_and_message_ids() {
        let cases = [
            ("To: reply+c12u3abcdefghijk@acme.test", "To: reply+[hidden]@acme.test"),
            ("Reply-To: <REPLY+C12U3ABCDEFGHIJK@acme.test>", "Reply-To: <REPLY+[hidden]@acme.test>"),
            ("References: <parley.m42.c12u3abcdefghijk@acme.test>", "References: <parley.m42.[hidden]@acme.test>"),
            ("support@acme.test, reply+short@acme.test", "support@acme.test, reply+short@acme.test"),
            (
                "<parley.c42@acme.test> parley.mx.abcdefghijk@acme.test",
                "<parley.c42@acme.test> parley.mx.abcdefghijk@acme.test",
            ),
            ("reply+abcdefghijkl", "reply+abcdefghijkl"),
        ];
        for (raw, hidden) in cases {
            assert_eq!(hide_reply_tokens_in(raw), hidden, "{raw}");
        }
        let latin1 = b"Subject: caf\xe9\r\nTo: reply+abcdefghijkl@x.test\r\n";
        assert_eq!(hide_reply_tokens(latin1), b"Subject: caf\xe9\r\nTo: reply+[hidden]@x.test\r\n".to_vec());
    }

    #[test]
    fn login_links_tokens_and_codes_are_hidden() {
        let link = "Open http://x.test/portal/login?token=pl_Ab3-_9xYzAb3-_9xYzAb3-_9xYzAb3 within 15 minutes";
        assert_eq!(redact(link), "Open http://x.test/portal/login?token=pl_[hidden] within 15 minutes");
        assert_eq!(redact("Your code: 042917"), "Your code: [hidden]");
        let reset = "http://x.test/set-password?token=pw_Ab3-_9xYzAb3-_9xYzAb3-_9xYzAb3";
        assert_eq!(redact(reset), "http://x.test/set-password?token=pw_[hidden]");
        let invitation = "<a href=\"http://x.test/invitations/accept?token=pi_Ab3-_9xYzAb3-_9xYzAb3\">";
        assert_eq!(redact(invitation), "<a href=\"http://x.test/invitations/accept?token=pi_[hidden]\">");
        assert_eq!(redact("<p>Your code: <strong>042917</strong></p>"), "<p>Your code: <strong>[hidden]</strong></p>");
        assert_eq!(redact("a pt_0123456789abcdefXYZ and ps_0123456789abcdefXYZ."), "a pt_[hidden] and ps_[hidden].");
    }

    #[test]
    fn ordinary_text_is_left_as_it_is() {
        for text in ["pl_short", "apl_0123456789abcdefXYZ", "Order 123456 shipped", "Your code review", "é pr_ x", ""]
        {
            assert_eq!(redact(text), text);
        }
    }

    proptest::proptest! {
        #[test]
        fn redaction_never_panics_and_keeps_text_without_secrets(text in "(?s).{0,200}") {
            let out = redact(&text);
            if !TOKEN_PREFIXES.iter().any(|p| text.contains(p)) && !text.contains(CODE_LEAD) {
                proptest::prop_assert_eq!(out, text);
            }
        }
    }
}
