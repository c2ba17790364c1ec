//! Message bodies are written in Markdown and rendered to HTML that is safe to put in any browser:
//! raw HTML, scripts, event handlers and `javascript:` links are removed by a sanitizer.

use pulldown_cmark::{html, Options, Parser};

/// Renders Markdown to sanitized HTML.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::Builder::default().link_rel(Some("noopener noreferrer nofollow")).clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_emphasis_and_links() {
        let html = render("**hi** [site](https://example.com)");
        assert!(html.contains("<strong>hi</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
    }

    #[test]
    fn strips_scripts_handlers_and_javascript_links() {
        let html = render("<script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert) <a href=\"javascript:alert(1)\">y</a>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("href=\"javascript"), "{html}");
    }
}
