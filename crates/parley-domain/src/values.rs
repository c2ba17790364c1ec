//! Validated values. Input is parsed into these at the edge, so invalid data cannot travel further.

use serde::Serialize;
use thiserror::Error;

/// Why an input was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        ValidationError { field, message: message.into() }
    }
}

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 50_000;
/// Longest name, title or subject, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// An email address in the one normalized form every comparison uses (R36): trimmed, Unicode NFC,
/// lower-cased; one `@`, a dotted ASCII domain. Refused: whitespace, control and invisible
/// characters (zero-width spaces and joiners, direction marks, soft hyphens…), and a local part
/// mixing scripts (a Cyrillic `а` among Latin letters), which look like another address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// Characters that render as nothing (or reorder text) and so hide what an address really is.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

impl EmailAddress {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        use unicode_normalization::UnicodeNormalization;
        use unicode_security::MixedScript;
        let s: String = raw.trim().nfc().collect::<String>().to_lowercase();
        let invalid = || ValidationError::new(field, format!("'{}' is not an email address", raw.trim()));
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c)) {
            return Err(invalid());
        }
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !local.is_single_script() {
            return Err(invalid());
        }
        parse_domain(field, domain).map_err(|_| invalid())?;
        Ok(EmailAddress(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// A mention handle suggested by the address: its local part, reduced to handle characters.
    pub fn handle_hint(&self) -> String {
        let local = self.0.split('@').next().unwrap_or_default();
        let hint: String = local.chars().filter(|c| crate::mentions::is_handle_char(*c)).collect();
        if hint.is_empty() {
            "user".to_string()
        } else {
            hint
        }
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS domain such as `example.com`, lower-cased.
pub fn parse_domain(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let s = raw.trim().trim_start_matches('@').to_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if s.len() <= 253 && s.contains('.') && s.split('.').all(label_ok) {
        Ok(s)
    } else {
        Err(ValidationError::new(field, format!("'{}' is not a domain name", raw.trim())))
    }
}

/// Trimmed text of `1..=max` characters without control characters other than newlines and tabs.
pub fn parse_text(field: &'static str, raw: &str, max: usize) -> Result<String, ValidationError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(s.to_string())
}

/// A name, title or subject.
pub fn parse_name(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let s = parse_text(field, raw, MAX_NAME_CHARS)?;
    if s.contains('\n') {
        return Err(ValidationError::new(field, "must be a single line"));
    }
    Ok(s)
}

/// A message body.
pub fn parse_body(raw: &str) -> Result<String, ValidationError> {
    parse_text("body", raw, MAX_BODY_CHARS)
}

/// The shortest password taken. The forms say the same (`minlength`), checked by a browser test.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password taken.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A password of [`MIN_PASSWORD_CHARS`] to [`MAX_PASSWORD_CHARS`] characters.
pub fn check_password(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    match raw.chars().count() {
        n if n < MIN_PASSWORD_CHARS => {
            Err(ValidationError::new(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")))
        }
        n if n > MAX_PASSWORD_CHARS => {
            Err(ValidationError::new(field, format!("must be at most {MAX_PASSWORD_CHARS} characters")))
        }
        _ => Ok(()),
    }
}

/// Passwords so common that a guesser tries them first.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "iloveyou",
    "11111111",
    "00000000",
    "abc12345",
    "letmein1",
    "welcome1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "trustno1",
    "passw0rd",
    "changeme",
    "administrator",
];

/// A new password chosen through an emailed link: its length ([`check_password`]), and not one a
/// guesser tries first — a common password, one character repeated, or the owner's address or its
/// name part.
pub fn check_password_strength(field: &'static str, raw: &str, owner_address: &str) -> Result<(), ValidationError> {
    check_password(field, raw)?;
    let lower = raw.to_lowercase();
    let address = owner_address.to_lowercase();
    let name_part = address.split('@').next().unwrap_or_default();
    let mut chars = lower.chars();
    let first = chars.next();
    let one_character = chars.all(|c| Some(c) == first);
    if COMMON_PASSWORDS.contains(&lower.as_str())
        || one_character
        || (!address.is_empty() && (lower == address || lower == name_part))
    {
        return Err(ValidationError::new(field, "is too easy to guess: choose a longer or less common one"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r31_a_new_password_is_not_one_guessed_first() {
        for weak in ["password", "PASSWORD123", "aaaaaaaaaa", "mia.lopez", "Mia.Lopez@acme.test", "short"] {
            assert!(check_password_strength("password", weak, "mia.lopez@acme.test").is_err(), "{weak}");
        }
        for strong in ["correct horse battery", "Tr4vel-by-night"] {
            assert!(check_password_strength("password", strong, "mia.lopez@acme.test").is_ok(), "{strong}");
        }
    }

    #[test]
    fn email_addresses_are_normalized_and_checked() {
        let e = EmailAddress::parse("email", "  Ana.Lopez@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ana.lopez@example.com");
        assert_eq!(e.domain(), "example.com");
        assert_eq!(e.handle_hint(), "ana.lopez");
        for bad in ["", "ana", "ana@", "@example.com", "ana@example", "a b@example.com", "a@b@c.com"] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn r36_look_alike_addresses_are_refused() {
        for bad in [
            "ana\u{200B}@example.com",
            "a\u{200D}na@example.com",
            "\u{FEFF}ana@example.com",
            "ana\u{00AD}@example.com",
            "ana\u{202E}@example.com",
            "p\u{0430}ypal@example.com", // Cyrillic a among Latin letters
            "ana@ex\u{0430}mple.com",    // and in the domain
            "ana\u{0000}@example.com",
        ] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad:?}");
        }
        // One script is fine, whichever it is; composed and decomposed forms compare equal.
        assert!(EmailAddress::parse("email", "\u{0430}\u{043D}\u{044F}@example.com").is_ok());
        let composed = EmailAddress::parse("email", "Jos\u{00E9}@example.com").unwrap();
        let decomposed = EmailAddress::parse("email", "jose\u{0301}@EXAMPLE.com").unwrap();
        assert_eq!(composed, decomposed);
    }

    #[test]
    fn text_is_trimmed_bounded_and_single_line_for_names() {
        assert_eq!(parse_name("title", "  Printer broken ").unwrap(), "Printer broken");
        assert!(parse_name("title", "   ").is_err());
        assert!(parse_name("title", "a\nb").is_err());
        assert!(parse_name("title", &"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(parse_body(&"x".repeat(MAX_BODY_CHARS + 1)).is_err());
        assert!(parse_body("line one\nline two").is_ok());
    }
}
