//! Message bodies are written in Markdown and rendered to HTML that is safe to put in any browser.
//!
//! Three guards, each for a reason:
//! - **Safety**: raw HTML in a body is shown as the text it is, never interpreted; the generated
//!   HTML still passes a sanitizer (no scripts, handlers or `javascript:` links).
//! - **Privacy**: images become links, so a sender cannot learn when and from where a reader opened
//!   the message by embedding a remote image (the pages also refuse remote images by policy).
//! - **Bounded work (R40)**: the parser is linear, but the sanitizer's HTML parser is not: 50,000
//!   nested quotes took a minute. Elements nested deeper than [`MAX_NESTING`] are flattened into
//!   their parent (their text is kept), and the stored HTML never exceeds [`MAX_HTML_BYTES`] (a
//!   body that would is kept as escaped plain text).

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

/// The deepest element nesting kept; deeper structure is flattened into its parent.
pub const MAX_NESTING: usize = 16;
/// The largest HTML kept for one message.
pub const MAX_HTML_BYTES: usize = 256 * 1024;

/// Renders Markdown to sanitized HTML, within the bounds above.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Bounded::new(Parser::new_ext(markdown, options)));
    if unsafe_html.len() > MAX_HTML_BYTES {
        return plain(markdown);
    }
    let clean = ammonia::Builder::default()
        .rm_tags(["img"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string();
    if clean.len() > MAX_HTML_BYTES {
        return plain(markdown);
    }
    clean
}

/// The body as escaped text in one paragraph, line breaks kept. At most 5 bytes per input
/// character (`&amp;`), so a body within the length limit always fits [`MAX_HTML_BYTES`].
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str("<p>");
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out.push_str("</p>");
    out
}

/// The parser's events with raw HTML turned into text, images into links, and elements deeper
/// than [`MAX_NESTING`] dropped (their content stays).
struct Bounded<'a, I> {
    events: I,
    /// For each open element: whether its start was kept (its end must be kept too).
    open: Vec<bool>,
    depth: usize,
    /// The images being written: each one's address, and whether any alt text was written (an
    /// image without alt text becomes a link showing its address).
    images: Vec<(CowStr<'a>, bool)>,
    pending: Option<Event<'a>>,
}

impl<'a, I: Iterator<Item = Event<'a>>> Bounded<'a, I> {
    fn new(events: I) -> Self {
        Bounded { events, open: Vec::new(), depth: 0, images: Vec::new(), pending: None }
    }

    fn start(&mut self, tag: Tag<'a>) -> Option<Event<'a>> {
        let keep = self.depth < MAX_NESTING;
        self.open.push(keep);
        if keep {
            self.depth += 1;
        }
        let tag = match tag {
            Tag::Image { link_type, dest_url, title, id } => {
                self.images.push((dest_url.clone(), false));
                Tag::Link { link_type, dest_url, title, id }
            }
            tag => tag,
        };
        keep.then_some(Event::Start(tag))
    }

    fn end(&mut self, end: TagEnd) -> Option<Event<'a>> {
        let kept = self.open.pop().unwrap_or(false);
        if kept {
            self.depth -= 1;
        }
        let end = match end {
            TagEnd::Image => match self.images.pop() {
                Some((url, false)) => {
                    if kept {
                        self.pending = Some(Event::End(TagEnd::Link));
                    }
                    return Some(Event::Text(url));
                }
                _ => TagEnd::Link,
            },
            end => end,
        };
        kept.then_some(Event::End(end))
    }
}

impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Bounded<'a, I> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(event) = self.pending.take() {
            return Some(event);
        }
        loop {
            let event = self.events.next()?;
            let out = match event {
                Event::Start(tag) => self.start(tag),
                Event::End(end) => self.end(end),
                // Raw HTML is shown as written.
                Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
                Event::Text(text) => {
                    if let Some((_, written)) = self.images.last_mut() {
                        *written = true;
                    }
                    Some(Event::Text(text))
                }
                other => Some(other),
            };
            if out.is_some() {
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_emphasis_and_links() {
        let html = render("**hi** [site](https://example.com)");
        assert!(html.contains("<strong>hi</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
    }

    #[test]
    fn raw_html_is_shown_as_text_and_javascript_links_are_dropped() {
        let html = render("<script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert) <a href=\"javascript:alert(1)\">y</a>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "shown as written: {html}");
        assert!(!html.contains("<a href=\"javascript"), "{html}");
        let html = render("A [link](javascript:alert(1)) and <a href=\"javascript:alert(1)\">y</a>");
        assert!(html.contains("<a rel=\"noopener noreferrer nofollow\">link</a>"), "no address kept: {html}");
        assert!(!html.contains("<a href"), "{html}");
    }

    #[test]
    fn r40_images_become_links_so_readers_are_not_tracked() {
        let html = render("![the logo](https://tracker.example/pixel.gif) and ![](https://tracker.example/x.png)");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("href=\"https://tracker.example/pixel.gif\""), "{html}");
        assert!(html.contains(">the logo</a>"), "{html}");
        assert!(html.contains(">https://tracker.example/x.png</a>"), "without alt text the address shows: {html}");
    }

    #[test]
    fn r40_deep_nesting_is_flattened_and_the_text_kept() {
        let html = render(&format!("{}deep", "> ".repeat(100)));
        assert_eq!(html.matches("<blockquote>").count(), MAX_NESTING, "{html}");
        assert!(html.contains("deep"), "{html}");
        let html = render("> - **a *b* c**\n>   1. [x](https://e.example)");
        assert!(html.contains("<blockquote>") && html.contains("<em>b</em>") && html.contains("<ol>"), "{html}");
    }

    #[test]
    fn r40_html_is_capped() {
        for body in ["<".repeat(50_000), "&".repeat(50_000), "|a".repeat(25_000), "*a".repeat(25_000)] {
            let html = render(&body);
            assert!(html.len() <= MAX_HTML_BYTES, "{} bytes", html.len());
        }
    }
}
