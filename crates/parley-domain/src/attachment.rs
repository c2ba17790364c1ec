//! Attachments: which files may be uploaded, under what name, and how they are served. Who may
//! fetch one is not decided here: a file is readable exactly when its message is (`access`).

use crate::ids::AttachmentId;
use crate::values::ValidationError;
use serde::{Deserialize, Serialize};

/// The most files one message carries.
pub const MAX_PER_MESSAGE: usize = 10;
/// The default largest file, in bytes (`--attachment-max-mb` changes it).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The longest file name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A file of a message, as clients are shown it; its bytes are at
/// `/api/v1/attachments/{id}` for whoever may read the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: AttachmentId,
    pub name: String,
    pub content_type: String,
    /// In bytes.
    pub size: i64,
}

impl Attachment {
    /// Whether a browser may show it in the page (an image it can display) rather than save it.
    pub fn inline(&self) -> bool {
        is_image(&self.content_type)
    }
}

/// The types Parley takes: pictures, documents, text, archives and mail. Anything a browser
/// would run (HTML, SVG, scripts) is refused, so that a file can never act on Parley's own origin.
const ACCEPTED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/json",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-7z-compressed",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
    "message/rfc822",
    "audio/mpeg",
    "audio/ogg",
    "video/mp4",
    "video/webm",
    // What browsers and mail programs send for a type they do not know (a `.log`, a `.har`):
    // stored and served as a download.
    "application/octet-stream",
];

/// Names that run when opened on a customer's or agent's computer.
const REFUSED_EXTENSIONS: &[&str] = &[
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "vbs", "vbe", "js", "jse", "wsf", "wsh", "ps1", "psm1",
    "jar", "hta", "cpl", "lnk", "reg", "dll", "apk", "app", "html", "htm", "xhtml", "svg", "svgz",
];

/// Why a file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The name is empty or too long once cleaned.
    Name(ValidationError),
    /// A type (or a name's extension) Parley does not take.
    Type(String),
    /// It says it is a picture and is not one.
    NotWhatItSays(String),
}

/// What an accepted file is stored as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub name: String,
    pub content_type: String,
}

/// Decides whether a file may be attached, from its name, the type the client declared and its
/// first bytes (at least 12, when it has that many).
pub fn accept(name: &str, declared_type: &str, head: &[u8]) -> Result<Accepted, Refusal> {
    let name = clean_name(name).map_err(Refusal::Name)?;
    let content_type = essence(declared_type);
    let content_type = if content_type.is_empty() { "application/octet-stream".to_string() } else { content_type };
    if !ACCEPTED.contains(&content_type.as_str()) {
        return Err(Refusal::Type(format!("files of type '{content_type}' cannot be attached")));
    }
    if let Some(ext) = extension(&name) {
        if REFUSED_EXTENSIONS.contains(&ext.as_str()) {
            return Err(Refusal::Type(format!("'.{ext}' files cannot be attached")));
        }
    }
    // A picture is shown in the page, so it must be the picture it says it is.
    if is_image(&content_type) && sniff_image(head) != Some(content_type.as_str()) {
        return Err(Refusal::NotWhatItSays(format!("the file is not a {content_type} picture")));
    }
    Ok(Accepted { name, content_type })
}

/// A file name as stored and offered for download: only its last path component, control and
/// quoting characters removed, whitespace collapsed, 1 to 200 characters.
pub fn clean_name(raw: &str) -> Result<String, ValidationError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = last
        .chars()
        .map(|c| if c.is_control() || matches!(c, '"' | '\u{200b}'..='\u{200f}') { ' ' } else { c })
        .collect();
    let name = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = name.trim_matches('.').trim().to_string();
    match name.chars().count() {
        0 => Err(ValidationError::new("name", "a file needs a name")),
        n if n > MAX_NAME_CHARS => {
            Err(ValidationError::new("name", format!("must be at most {MAX_NAME_CHARS} characters")))
        }
        _ => Ok(name),
    }
}

/// Whether files of this type are shown in the page.
pub fn is_image(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// A size as people read it: `12 B`, `340 KB`, `1.2 MB`.
pub fn human_size(bytes: i64) -> String {
    const KB: i64 = 1024;
    match bytes {
        b if b >= KB * KB => format!("{:.1} MB", b as f64 / (KB * KB) as f64),
        b if b >= KB => format!("{} KB", (b + KB / 2) / KB),
        b => format!("{b} B"),
    }
}

/// A file name percent-encoded for a URL path segment or an RFC 5987 `filename*`: everything but
/// letters, digits and `.-_~` is escaped.
pub fn url_encoded(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The picture type the bytes are, if any.
fn sniff_image(head: &[u8]) -> Option<&'static str> {
    match head {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// `Text/Plain; charset=utf-8` → `text/plain`.
fn essence(declared: &str) -> String {
    declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn extension(name: &str) -> Option<String> {
    let (_, ext) = name.rsplit_once('.')?;
    Some(ext.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];

    #[test]
    fn a_picture_is_taken_when_it_is_one() {
        let ok = accept("screen.png", "image/png", PNG).unwrap();
        assert_eq!(ok, Accepted { name: "screen.png".into(), content_type: "image/png".into() });
        assert!(matches!(accept("screen.png", "image/png", b"<html><script>"), Err(Refusal::NotWhatItSays(_))));
        assert!(matches!(accept("x.jpg", "image/jpeg", PNG), Err(Refusal::NotWhatItSays(_))));
        assert!(accept("a.gif", "image/gif", b"GIF89a......").is_ok());
        assert!(accept("a.webp", "image/webp", b"RIFF\0\0\0\0WEBPVP8 ").is_ok());
        assert!(accept("a.jpg", "IMAGE/JPEG; q=1", &[0xff, 0xd8, 0xff, 0xe0]).is_ok());
    }

    #[test]
    fn what_a_browser_would_run_is_refused() {
        for (name, ty) in [
            ("page.html", "text/html"),
            ("logo.svg", "image/svg+xml"),
            ("x.xml", "application/xml"),
            ("run.js", "text/javascript"),
            ("page.html", "text/plain"),
            ("setup.EXE", "application/octet-stream"),
            ("logo.svg", "application/octet-stream"),
        ] {
            assert!(matches!(accept(name, ty, b"abc"), Err(Refusal::Type(_))), "{name} {ty}");
        }
    }

    #[test]
    fn documents_and_unknown_types_are_taken_as_downloads() {
        for (name, ty) in [
            ("invoice.pdf", "application/pdf"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("server.log", ""),
            ("trace.har", "application/octet-stream"),
            ("sheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ] {
            let ok = accept(name, ty, b"%PDF-1.7 ...").unwrap();
            assert!(!is_image(&ok.content_type), "{name}");
        }
        assert_eq!(accept("server.log", "", b"").unwrap().content_type, "application/octet-stream");
    }

    #[test]
    fn sizes_and_names_are_written_for_people_and_urls() {
        assert_eq!(human_size(12), "12 B");
        assert_eq!(human_size(340 * 1024 + 100), "340 KB");
        assert_eq!(human_size(1_258_291), "1.2 MB");
        assert_eq!(url_encoded("a b\"é/.pdf"), "a%20b%22%C3%A9%2F.pdf");
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\ada\\report.pdf").unwrap(), "report.pdf");
        assert_eq!(clean_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(clean_name("a\r\nb\"c.txt").unwrap(), "a b c.txt");
        assert_eq!(clean_name("  my   file .txt ").unwrap(), "my file .txt");
        assert!(clean_name("..").is_err());
        assert!(clean_name("dir/").is_err());
        assert!(clean_name(&"a".repeat(201)).is_err());
        assert!(clean_name(&"é".repeat(200)).is_ok());
    }
}
