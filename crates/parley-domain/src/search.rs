//! What a search asks for, and how its highlighted excerpts are handed out. The words of a query are
//! taken from what someone typed; each backend turns them into its own full-text syntax, so nothing
//! typed is ever read as that syntax. Who may see each hit is decided by `access`, as everywhere.

use crate::ValidationError;

/// The most characters a query may have, and the most words taken from it.
pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_TERMS: usize = 8;

/// The words searched for, in order. The last one also matches longer words it begins
/// (`prin` finds "printer"), so results follow the typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<String>,
}

impl Query {
    /// Reads the words of `text`: letters and digits, lower-cased; everything else separates them.
    /// An empty query, or one longer than [`MAX_QUERY_CHARS`], is refused; one of only spaces and
    /// punctuation has no words, and finds nothing.
    pub fn parse(text: &str) -> Result<Query, ValidationError> {
        if text.is_empty() {
            return Err(ValidationError::new("q", "must not be empty"));
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(ValidationError::new("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        let terms: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.to_lowercase())
            .take(MAX_TERMS)
            .collect();
        Ok(Query { terms })
    }
}

/// Marks around each matched word in an excerpt a backend returns: control characters no stored
/// text is shown with, so [`segments`] can split on them.
pub const HIT_START: char = '\u{2}';
pub const HIT_END: char = '\u{3}';

/// A piece of an excerpt: plain text, or a matched word to highlight. Clients show the text as
/// text (never as markup), so a highlight can never inject anything.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

/// Splits an excerpt marked with [`HIT_START`]/[`HIT_END`] into segments. Marks a text carried
/// itself are dropped with the marking, never shown.
pub fn segments(marked: &str) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut hit = false;
    let mut text = String::new();
    let flush = |text: &mut String, hit: bool, out: &mut Vec<Segment>| {
        if !text.is_empty() {
            out.push(Segment { text: std::mem::take(text), hit });
        }
    };
    for c in marked.chars() {
        match c {
            HIT_START => {
                flush(&mut text, hit, &mut out);
                hit = true;
            }
            HIT_END => {
                flush(&mut text, hit, &mut out);
                hit = false;
            }
            c => text.push(c),
        }
    }
    flush(&mut text, hit, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_taken_from_what_was_typed_and_nothing_else() {
        let q = Query::parse("  Printer ON-fire? \"NEAR\" (x) * ").unwrap();
        assert_eq!(q.terms, vec!["printer", "on", "fire", "near", "x"]);
        assert_eq!(Query::parse("Ölfleck café").unwrap().terms, vec!["ölfleck", "café"]);
        assert_eq!(Query::parse("a b c d e f g h i j").unwrap().terms.len(), MAX_TERMS);
    }

    #[test]
    fn an_empty_or_too_long_query_is_refused_and_one_without_words_has_none() {
        for bad in ["", &"x".repeat(MAX_QUERY_CHARS + 1)] {
            let e = Query::parse(bad).unwrap_err();
            assert_eq!(e.field, "q", "{bad:?}");
        }
        for wordless in ["   ", "*\"()-:^", "\u{8ad5f}"] {
            assert_eq!(Query::parse(wordless).unwrap().terms, Vec::<String>::new(), "{wordless:?}");
        }
        assert!(Query::parse(&"x".repeat(MAX_QUERY_CHARS)).is_ok());
    }

    #[test]
    fn excerpts_split_into_plain_and_matched_pieces() {
        let s = segments("the \u{2}printer\u{3} is on \u{2}fire\u{3}");
        let hits: Vec<(&str, bool)> = s.iter().map(|s| (s.text.as_str(), s.hit)).collect();
        assert_eq!(hits, vec![("the ", false), ("printer", true), (" is on ", false), ("fire", true)]);
        assert_eq!(segments(""), vec![]);
        assert_eq!(segments("plain"), vec![Segment { text: "plain".into(), hit: false }]);
    }
}
