//! R44: secrets in emails — login and password links, invitation links, verification codes,
//! reply tokens — are never stored rendered. An email is stored with slots where they go; the
//! sender fills them in just before the email leaves, so the outgoing log, backups and a copied
//! database hold none. A template that alters a slot cannot make the secret appear elsewhere.

/// Where an email's one secret goes (its text, HTML and subject).
pub const SECRET_SLOT: &str = "[secret: filled in when sent]";
/// Where the reply token goes in a stored reply address (`reply+[token]@…`).
pub const TOKEN_SLOT: &str = "[token]";

/// `text` with every secret slot replaced by `secret`.
pub fn fill(text: &str, secret: &str) -> String {
    text.replace(SECRET_SLOT, secret)
}

/// HTML `text` with every secret slot replaced by `secret`, escaped for HTML.
pub fn fill_html(html: &str, secret: &str) -> String {
    let escaped = secret.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    html.replace(SECRET_SLOT, &escaped)
}

/// The stored reply address of `mail_domain`: its token is filled in when sent.
pub fn reply_address_slot(mail_domain: &str) -> String {
    format!("reply+{TOKEN_SLOT}@{mail_domain}")
}

/// A stored reply address with its token filled in.
pub fn fill_reply_address(stored: &str, token: &str) -> String {
    stored.replace(TOKEN_SLOT, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r44_slots_are_filled_where_they_stand() {
        let link = "https://acme.test/reset?token=pw_abc&next=/c/1";
        assert_eq!(fill(&format!("Open {SECRET_SLOT} now"), link), format!("Open {link} now"));
        assert_eq!(
            fill_html(&format!("<a href=\"{SECRET_SLOT}\">reset</a>"), link),
            "<a href=\"https://acme.test/reset?token=pw_abc&amp;next=/c/1\">reset</a>"
        );
        assert_eq!(fill("no slot here", link), "no slot here");
        let stored = reply_address_slot("acme.test");
        assert_eq!(stored, "reply+[token]@acme.test");
        assert_eq!(fill_reply_address(&stored, "abc"), "reply+abc@acme.test");
    }
}
