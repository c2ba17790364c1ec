//! The first words of a message as plain text, for list rows: the Markdown's text without its
//! marks, on one line, cut at a word within a length.

use pulldown_cmark::{Event, Parser, TagEnd};

/// How many characters a list row shows of the latest message.
pub const ROW_EXCERPT_CHARS: usize = 120;

/// The text of `markdown` (no emphasis marks, link targets or code fences; breaks become spaces,
/// runs of space one), at most `max_chars` characters: cut after the last whole word that fits,
/// with "…" when anything was left out. Parsing stops once enough text was read.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let mut text = String::new();
    let mut chars = 0;
    let mut cut = false;
    // A space is written only when a character follows it, so trailing space never cuts.
    let mut space = false;
    let mut push = |piece: &str, text: &mut String, chars: &mut usize| -> bool {
        for c in piece.chars() {
            if c.is_whitespace() {
                space = !text.is_empty();
                continue;
            }
            let needed = if space { 2 } else { 1 };
            if *chars + needed > max_chars {
                return false;
            }
            if space {
                text.push(' ');
                space = false;
            }
            text.push(c);
            *chars += needed;
        }
        true
    };
    for event in Parser::new(markdown) {
        let piece = match &event {
            Event::Text(t) | Event::Code(t) => t.as_ref(),
            // Inline marks end inside a line; the end of a block (a paragraph, an item) is a break.
            Event::End(TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link | TagEnd::Image) => {
                continue
            }
            Event::SoftBreak | Event::HardBreak | Event::End(_) | Event::Rule => " ",
            _ => continue,
        };
        if !push(piece, &mut text, &mut chars) {
            cut = true;
            break;
        }
    }
    if cut {
        // Cut inside a word: back to the last whole one, if there is one to go back to.
        if !space {
            if let Some(at) = text.rfind(' ') {
                text.truncate(at);
            }
        }
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_go_and_breaks_become_one_space() {
        assert_eq!(
            excerpt("**Hello**  _there_,\n\nsee [the guide](https://x.example/g)\n- one\n- `two`", 100),
            "Hello there, see the guide one two"
        );
    }

    #[test]
    fn a_long_body_is_cut_after_a_whole_word() {
        assert_eq!(excerpt("The printer on the third floor is on fire", 20), "The printer on the…");
        assert_eq!(excerpt("Supercalifragilistic", 5), "Super…");
        assert_eq!(excerpt("exactly five", 12), "exactly five");
        assert_eq!(excerpt("The printer on the third", 18), "The printer on the…");
    }

    #[test]
    fn raw_html_is_not_markup_here_either() {
        assert_eq!(excerpt("<b>bold</b> move", 50), "bold move");
        assert_eq!(excerpt("", 10), "");
        assert_eq!(excerpt("   \n  ", 10), "");
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(excerpt("Grüße aus Köln", 5), "Grüße…");
    }
}
