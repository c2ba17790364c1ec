//! `@handle` mentions in a message body. A mentioned user receives the message and follows the
//! conversation from then on.

/// The distinct handles mentioned in `body`, lower-cased, in order of first appearance. A mention
/// starts with `@` at the start of the text or after a character that cannot be part of a word or
/// an email address, so `ana@example.com` mentions nobody.
pub fn extract(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '@' && (i == 0 || !is_handle_char(chars[i - 1]));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && is_handle_char(chars[j]) {
            j += 1;
        }
        let handle: String = chars[i + 1..j].iter().collect::<String>();
        let handle = handle.trim_end_matches(['.', '-', '_']).to_lowercase();
        if !handle.is_empty() && !found.contains(&handle) {
            found.push(handle);
        }
        i = j.max(i + 1);
    }
    found
}

/// Characters allowed in a handle.
pub fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

#[cfg(test)]
mod tests {
    use super::extract;

    #[test]
    fn finds_mentions_and_ignores_email_addresses() {
        assert_eq!(extract("@ana please ask @Bo.Li. (cc ana@example.com, @ana)"), vec!["ana", "bo.li"]);
        assert!(extract("no mentions @ here").is_empty());
    }
}
