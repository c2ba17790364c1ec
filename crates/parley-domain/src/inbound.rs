//! Email in, the rules without I/O: which mail is automatic and must never be answered (R19), and
//! what of a reply is the new text (R17) — the quoted earlier message, the "On … wrote:" line,
//! Outlook's header block, the signature and the mobile footer go; and where a mail goes: the
//! reply token in its recipient address, or one of Parley's Message-IDs it answers (R16).

use crate::entities::str_enum;
use crate::ids::MessageId;
use crate::party::Party;
use crate::values::MAX_BODY_CHARS;

str_enum!(
    /// What an incoming mail did (R32).
    IncomingStatus {
        /// Being handled (a row left so names a mail whose handling was cut off).
        Received => "received",
        /// Posted as a message into an existing conversation (R17).
        Posted => "posted",
        /// Started a new conversation (R18).
        Started => "started",
        /// Refused, with the reason.
        Refused => "refused",
        /// Automatic mail, logged and not answered (R19).
        Automatic => "automatic",
        /// The same Message-ID was handled before (an SMTP retry).
        Duplicate => "duplicate",
    }
);

/// Why a mail counts as automatic (R19): it is logged and never answered automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutomaticReason {
    /// `Auto-Submitted` other than `no` (RFC 3834: auto-replies, auto-generated notices).
    AutoSubmitted,
    /// `Precedence: bulk`, `junk` or `list`.
    Precedence,
    /// `X-Auto-Response-Suppress` (Exchange) or `List-Id` / `List-Unsubscribe` (mailing lists).
    ListOrSuppressed,
    /// `X-Loop` names this installation: the mail went round.
    Loop,
    /// From a mailer-daemon, postmaster or no-reply address.
    SystemSender,
    /// A delivery status report (`multipart/report`): a bounce.
    Bounce,
    /// Its Message-ID is one of Parley's own.
    OwnMessage,
}

impl AutomaticReason {
    /// The name the incoming log shows.
    pub fn as_str(self) -> &'static str {
        match self {
            AutomaticReason::AutoSubmitted => "auto_submitted",
            AutomaticReason::Precedence => "bulk_precedence",
            AutomaticReason::ListOrSuppressed => "list_or_auto_response_suppressed",
            AutomaticReason::Loop => "loop",
            AutomaticReason::SystemSender => "system_sender",
            AutomaticReason::Bounce => "bounce",
            AutomaticReason::OwnMessage => "own_message",
        }
    }
}

/// The headers R19 looks at, as the mail carries them (names compared without case by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutomaticSigns<'a> {
    pub auto_submitted: Option<&'a str>,
    pub precedence: Option<&'a str>,
    pub auto_response_suppress: bool,
    pub list_headers: bool,
    pub x_loop: Vec<&'a str>,
    /// The sender's address.
    pub from: &'a str,
    /// The top-level content type, such as `multipart/report`.
    pub content_type: &'a str,
    pub message_id: Option<&'a str>,
}

/// R19: the reason a mail is automatic, or `None` for a person's mail. `mail_domain` is the domain
/// of Parley's own addresses and Message-IDs.
pub fn automatic(signs: &AutomaticSigns, mail_domain: &str) -> Option<AutomaticReason> {
    let lower = |s: &str| s.trim().to_ascii_lowercase();
    let domain = lower(mail_domain);
    if signs.auto_submitted.is_some_and(|v| {
        let v = lower(v);
        !v.is_empty() && v.split(';').next().is_some_and(|first| first.trim() != "no")
    }) {
        return Some(AutomaticReason::AutoSubmitted);
    }
    if signs.precedence.is_some_and(|v| matches!(lower(v).as_str(), "bulk" | "junk" | "list")) {
        return Some(AutomaticReason::Precedence);
    }
    if signs.x_loop.iter().any(|v| lower(v).contains(&domain)) {
        return Some(AutomaticReason::Loop);
    }
    if signs.message_id.is_some_and(|id| {
        let id = lower(id);
        let id = id.trim_start_matches('<').trim_end_matches('>');
        id.starts_with("parley.") && id.ends_with(&format!("@{domain}"))
    }) {
        return Some(AutomaticReason::OwnMessage);
    }
    if lower(signs.content_type).starts_with("multipart/report") {
        return Some(AutomaticReason::Bounce);
    }
    let local = lower(signs.from.rsplit_once('@').map(|(l, _)| l).unwrap_or(signs.from));
    let local = local.split('+').next().unwrap_or_default();
    if ["mailer-daemon", "postmaster", "no-reply", "noreply", "do-not-reply", "donotreply"].contains(&local) {
        return Some(AutomaticReason::SystemSender);
    }
    if signs.auto_response_suppress || signs.list_headers {
        return Some(AutomaticReason::ListOrSuppressed);
    }
    None
}

/// R17, R44: the words a reply adds, without anything it quotes; `None` when it adds none (the
/// mail is then logged and not posted). Quoted lines (`>`) are never words of the reply, wherever
/// they stand: an answer written between them is kept, the quotes around it go. An "On … wrote:"
/// line (also when a mail client wrapped it over two lines) goes with the quote it introduces; if
/// no `>` line follows it, what follows is an unmarked quote and the reply ends there. The reply
/// also ends at Outlook's "From: … / Sent: …" block or "-----Original Message-----", at the
/// signature (`-- `) and at a mobile footer ("Sent from my iPhone"). Runs of blank lines left
/// where quotes were become one.
pub fn reply_text(text: &str) -> Option<String> {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        if ends_reply(&lines, i) {
            break;
        }
        if let Some(span) = attribution_at(&lines, i) {
            let next = lines[i + span..].iter().map(|l| l.trim()).find(|l| !l.is_empty());
            if !next.is_some_and(|l| l.starts_with('>')) {
                break;
            }
            i += span;
            continue;
        }
        if !t.starts_with('>') {
            kept.push(lines[i].trim_end());
        }
        i += 1;
    }
    let mut words = String::new();
    let mut blank = false;
    for line in kept {
        if line.trim().is_empty() {
            blank = !words.is_empty();
            continue;
        }
        if blank {
            words.push('\n');
            blank = false;
        }
        if !words.is_empty() {
            words.push('\n');
        }
        words.push_str(line);
    }
    let words = words.trim();
    (!words.is_empty()).then(|| words.to_string())
}

/// Whether the line at `i` starts what is never a reply's own: Outlook's quoted header block, the
/// signature, a mobile footer.
fn ends_reply(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    let t = line.trim();
    let outlook = t.starts_with("-----Original Message-----")
        || (t.starts_with("From:") && lines[i + 1..].iter().take(4).any(|l| l.trim().starts_with("Sent:")))
        || t.starts_with("________________________________");
    let signature = line == "-- " || t == "--";
    let footer =
        t.starts_with("Sent from my ") || t.starts_with("Get Outlook for ") || t == "Sent from Mail for Windows";
    outlook || signature || footer
}

/// How many lines the "On … wrote:" line at `i` spans (two when wrapped), if it is one.
fn attribution_at(lines: &[&str], i: usize) -> Option<usize> {
    let t = lines[i].trim();
    let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
    let wrote =
        |s: &str| s.ends_with("wrote:") || s.ends_with("a écrit :") || (s.contains("schrieb") && s.ends_with(':'));
    if !(t.starts_with("On ") || t.starts_with("Le ") || t.starts_with("Am ")) {
        return None;
    }
    if wrote(t) {
        Some(1)
    } else if wrote(next) {
        Some(2)
    } else {
        None
    }
}

/// R16: the reply token of `address` when it is one of Parley's reply addresses,
/// `reply+<token>@<mail_domain>` (case does not matter).
pub fn reply_token_of<'a>(address: &'a str, mail_domain: &str) -> Option<&'a str> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(mail_domain.trim()) {
        return None;
    }
    let token = local.get(..6).filter(|p| p.eq_ignore_ascii_case("reply+")).map(|_| &local[6..])?;
    (!token.is_empty()).then_some(token)
}

/// The Message-ID of an email Parley sends: its first message and its recipient, which makes it
/// unique (one email per recipient and message). R44: it holds no secret, so logs, forwarded mail
/// and mail clients may show it; a reply found only by its threading headers is matched to the
/// email it answers and must come from that email's recipient.
pub fn message_id_for(first_message: MessageId, to: Party, mail_domain: &str) -> String {
    let kind = if to.is_customer() { 'c' } else { 'u' };
    format!("<parley.m{first_message}.{kind}{}@{mail_domain}>", to.raw_id())
}

/// What one of Parley's Message-IDs names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnMessageId<'a> {
    /// The email of `message` (its first) to `to` (see [`message_id_for`]).
    Recipient { message: MessageId, to: Party },
    /// An email sent before Message-IDs held no secret: the reply token it carries; the caller
    /// verifies it.
    Token(&'a str),
}

/// R16: what one of Parley's Message-IDs (angle brackets optional) names. Threading headers of a
/// reply name them.
pub fn own_message_id<'a>(id: &'a str, mail_domain: &str) -> Option<OwnMessageId<'a>> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = id.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(mail_domain.trim()) {
        return None;
    }
    let (message, rest) = local.strip_prefix("parley.m")?.split_once('.')?;
    let message = message.parse::<i64>().ok().filter(|m| *m > 0)?;
    let party_id = |digits: &str| digits.parse::<i64>().ok().filter(|id| *id > 0 && !digits.starts_with('+'));
    match rest.split_at_checked(1) {
        Some(("c", digits)) if party_id(digits).is_some() => Some(OwnMessageId::Recipient {
            message: MessageId(message),
            to: Party::Customer(crate::ids::CustomerId(party_id(digits)?)),
        }),
        Some(("u", digits)) if party_id(digits).is_some() => Some(OwnMessageId::Recipient {
            message: MessageId(message),
            to: Party::User(crate::ids::UserId(party_id(digits)?)),
        }),
        _ => (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())).then_some(OwnMessageId::Token(rest)),
    }
}

/// A mail's text as a message body: control characters a message may not hold (form feeds,
/// escapes…) dropped, at most `MAX_BODY_CHARS`, a longer one cut with a note (the whole mail
/// stays in the incoming log).
pub fn fit_body(text: &str) -> String {
    const NOTE: &str = "\n\n[… the email was longer; the rest is in the original message]";
    let text: String = text.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r')).collect();
    if text.chars().count() <= MAX_BODY_CHARS {
        return text;
    }
    let keep = MAX_BODY_CHARS - NOTE.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(NOTE);
    out
}

/// A mail's subject or sender name as a name: one line, no control characters, at most
/// `max` characters.
pub fn fit_line(text: &str, max: usize) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    line.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(max).collect()
}

/// The most of a mail's headers the incoming log keeps when it keeps its headers only (R45).
pub const MAX_KEPT_HEADERS: usize = 64 * 1024;

/// R45: a raw mail's header section with the blank line that ends it (all of the mail when it
/// has no body), at most [`MAX_KEPT_HEADERS`] bytes: what the incoming log keeps of a refused
/// mail, or of any mail once the log is over its budget.
pub fn headers_of(raw: &[u8]) -> &[u8] {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    };
    &raw[..end.min(MAX_KEPT_HEADERS)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r45_a_mails_headers_end_at_the_first_blank_line() {
        assert_eq!(headers_of(b"From: a\r\nTo: b\r\n\r\nBody\r\n\r\nMore"), b"From: a\r\nTo: b\r\n\r\n");
        assert_eq!(headers_of(b"From: a\nTo: b\n\nBody"), b"From: a\nTo: b\n\n");
        assert_eq!(headers_of(b"From: a\r\n"), b"From: a\r\n", "no body: all of it");
        let huge = vec![b'x'; MAX_KEPT_HEADERS * 2];
        assert_eq!(headers_of(&huge).len(), MAX_KEPT_HEADERS);
    }

    #[test]
    fn r16_reply_addresses_and_message_ids_name_their_target() {
        assert_eq!(reply_token_of("reply+abc123@acme.test", "acme.test"), Some("abc123"));
        assert_eq!(reply_token_of("REPLY+abc123@ACME.test", "acme.test"), Some("abc123"));
        assert_eq!(reply_token_of("reply+abc123@other.test", "acme.test"), None);
        assert_eq!(reply_token_of("reply+@acme.test", "acme.test"), None);
        assert_eq!(reply_token_of("support@acme.test", "acme.test"), None);
        assert_eq!(reply_token_of("r@acme.test", "acme.test"), None);
        let carla = Party::Customer(crate::ids::CustomerId(7));
        let id = message_id_for(MessageId(42), carla, "acme.test");
        assert_eq!(id, "<parley.m42.c7@acme.test>");
        assert_eq!(
            own_message_id(&id, "acme.test"),
            Some(OwnMessageId::Recipient { message: MessageId(42), to: carla })
        );
        let ann = Party::User(crate::ids::UserId(3));
        assert_eq!(
            own_message_id(&message_id_for(MessageId(5), ann, "ACME.test"), "acme.test"),
            Some(OwnMessageId::Recipient { message: MessageId(5), to: ann })
        );
        // One sent before Message-IDs held no secret carries a reply token.
        let token = "a".repeat(47);
        assert_eq!(
            own_message_id(&format!("parley.m5.{token}@ACME.test"), "acme.test"),
            Some(OwnMessageId::Token(&token))
        );
        // Anything else in Parley's form is taken for a token, which then fails to verify.
        for other in ["c0", "x7", "abc234xyz"] {
            let id = format!("<parley.m42.{other}@acme.test>");
            assert_eq!(own_message_id(&id, "acme.test"), Some(OwnMessageId::Token(other)), "{id}");
        }
        for foreign in [
            "<parley.m42.c7@other.test>",
            "<parley.m42.c-7@acme.test>",
            "<parley.m42.c+7@acme.test>",
            "<parley.c42@acme.test>",
            "<parley.m42.@acme.test>",
            "<parley.mx.abc234xyz@acme.test>",
            "<parley.m-1.abc234xyz@acme.test>",
            "<parley.m42.abc+234@acme.test>",
            "<CAF=abc@mail.gmail.com>",
            "",
        ] {
            assert_eq!(own_message_id(foreign, "acme.test"), None, "{foreign}");
        }
    }

    #[test]
    fn a_long_mail_is_cut_to_a_message_with_a_note() {
        assert_eq!(fit_body("short"), "short");
        let long = "é".repeat(MAX_BODY_CHARS + 10);
        let fitted = fit_body(&long);
        assert_eq!(fitted.chars().count(), MAX_BODY_CHARS);
        assert!(fitted.ends_with("in the original message]"));
        assert_eq!(fit_body("page\u{c}break\u{1b}[31m\nnext\tline"), "pagebreak[31m\nnext\tline");
        assert_eq!(fit_line("Re:\t[Ticket #1]\r\n  Printer\u{0}", 200), "Re: [Ticket #1] Printer");
        assert_eq!(fit_line("abcdef", 3), "abc");
    }

    fn signs(from: &'static str) -> AutomaticSigns<'static> {
        AutomaticSigns { from, content_type: "text/plain", ..AutomaticSigns::default() }
    }

    #[test]
    fn r19_a_persons_mail_is_not_automatic() {
        assert_eq!(automatic(&signs("carla@client.example"), "acme.test"), None);
        let no = AutomaticSigns { auto_submitted: Some("no"), ..signs("carla@client.example") };
        assert_eq!(automatic(&no, "acme.test"), None, "Auto-Submitted: no is a person");
        let other_loop = AutomaticSigns { x_loop: vec!["helpdesk@elsewhere.example"], ..signs("carla@client.example") };
        assert_eq!(automatic(&other_loop, "acme.test"), None);
    }

    #[test]
    fn r19_every_sign_of_automatic_mail_is_recognised() {
        let d = "acme.test";
        let cases: Vec<(AutomaticSigns, AutomaticReason)> = vec![
            (
                AutomaticSigns { auto_submitted: Some("auto-replied"), ..signs("a@b.example") },
                AutomaticReason::AutoSubmitted,
            ),
            (
                AutomaticSigns { auto_submitted: Some("Auto-Generated; foo=bar"), ..signs("a@b.example") },
                AutomaticReason::AutoSubmitted,
            ),
            (AutomaticSigns { precedence: Some("Bulk"), ..signs("a@b.example") }, AutomaticReason::Precedence),
            (AutomaticSigns { precedence: Some("junk"), ..signs("a@b.example") }, AutomaticReason::Precedence),
            (AutomaticSigns { precedence: Some("list"), ..signs("a@b.example") }, AutomaticReason::Precedence),
            (AutomaticSigns { x_loop: vec!["support@ACME.test"], ..signs("a@b.example") }, AutomaticReason::Loop),
            (
                AutomaticSigns { message_id: Some("<parley.m12.customer3@acme.test>"), ..signs("a@b.example") },
                AutomaticReason::OwnMessage,
            ),
            (
                AutomaticSigns {
                    content_type: "multipart/report; report-type=delivery-status",
                    ..signs("a@b.example")
                },
                AutomaticReason::Bounce,
            ),
            (signs("MAILER-DAEMON@mx.example"), AutomaticReason::SystemSender),
            (signs("postmaster@client.example"), AutomaticReason::SystemSender),
            (signs("no-reply@shop.example"), AutomaticReason::SystemSender),
            (signs("noreply+bounces@shop.example"), AutomaticReason::SystemSender),
            (
                AutomaticSigns { auto_response_suppress: true, ..signs("a@b.example") },
                AutomaticReason::ListOrSuppressed,
            ),
            (AutomaticSigns { list_headers: true, ..signs("a@b.example") }, AutomaticReason::ListOrSuppressed),
        ];
        for (s, reason) in cases {
            assert_eq!(automatic(&s, d), Some(reason), "{s:?}");
        }
        let precedence_normal = AutomaticSigns { precedence: Some("normal"), ..signs("a@b.example") };
        assert_eq!(automatic(&precedence_normal, d), None);
        let someone_elses_id = AutomaticSigns { message_id: Some("<parley.m1@other.example>"), ..signs("a@b.example") };
        assert_eq!(automatic(&someone_elses_id, d), None);
    }

    #[test]
    fn r17_gmail_reply_keeps_the_new_text_only() {
        let mail = "Thanks, that fixed it!\n\nOn Mon, 23 Nov 2026 at 10:02, Acme Support <reply+abc@acme.test> wrote:\n> #2 Mo wrote:\n> Try turning it off and on.\n";
        assert_eq!(reply_text(mail).as_deref(), Some("Thanks, that fixed it!"));
    }

    #[test]
    fn r17_wrapped_on_wrote_lines_and_other_languages() {
        let wrapped = "Yes please.\r\n\r\nOn Mon, 23 Nov 2026 at 10:02, Acme Support\r\n<reply+abc@acme.test> wrote:\r\n> earlier\r\n";
        assert_eq!(reply_text(wrapped).as_deref(), Some("Yes please."));
        let french = reply_text("Merci !\n\nLe lun. 23 nov. 2026 à 10:02, Acme a écrit :\n> avant");
        assert_eq!(french.as_deref(), Some("Merci !"));
        let german = reply_text("Danke!\n\nAm Mo., 23. Nov. 2026 um 10:02 schrieb Acme:\n> vorher");
        assert_eq!(german.as_deref(), Some("Danke!"));
    }

    #[test]
    fn r17_outlook_blocks_signatures_and_mobile_footers_go() {
        let outlook = "It works now.\n\nFrom: Acme Support <reply+abc@acme.test>\nSent: Monday, November 23, 2026 10:02 AM\nTo: Carla\nSubject: Printer\n\nTry again.";
        assert_eq!(reply_text(outlook).as_deref(), Some("It works now."));
        let original = "Done.\n\n-----Original Message-----\nFrom: Acme\n";
        assert_eq!(reply_text(original).as_deref(), Some("Done."));
        let signed = "See you tomorrow.\n\n-- \nCarla Diaz\nClient Inc.";
        assert_eq!(reply_text(signed).as_deref(), Some("See you tomorrow."));
        let phone = "On my way\n\nSent from my iPhone\n\n> On 23 Nov wrote: earlier";
        assert_eq!(reply_text(phone).as_deref(), Some("On my way"));
    }

    proptest::proptest! {
        /// Any text, however mangled: no panic, and no line of the answer is a quoted one.
        #[test]
        fn r17_any_text_gives_a_reply_and_never_panics(text in "(?s).{0,400}", lines in proptest::collection::vec("(>|On |From: |Sent: |-- |Sent from my )?[a-z :]{0,20}", 0..12)) {
            for t in [text.clone(), lines.join("\n"), lines.join("\r\n")] {
                if let Some(out) = reply_text(&t) {
                    proptest::prop_assert!(!out.is_empty());
                    proptest::prop_assert!(out.lines().all(|l| !l.trim().starts_with('>')), "{out:?}");
                }
                let signs = AutomaticSigns { from: &t, content_type: &t, auto_submitted: Some(&t), ..AutomaticSigns::default() };
                let _ = automatic(&signs, &t);
            }
        }
    }

    #[test]
    fn r44_inline_answers_are_kept_and_the_quotes_around_them_go() {
        let inline = "> Does it print?\nNo, it jams.\n> Which tray?\nThe lower one.";
        assert_eq!(reply_text(inline).as_deref(), Some("No, it jams.\nThe lower one."));
        let bottom = "On Mon, 23 Nov 2026 at 10:02, Acme Support <reply+abc@acme.test> wrote:\n> internal words\n> more\n\nMy answer below.\n";
        assert_eq!(reply_text(bottom).as_deref(), Some("My answer below."), "the quote first");
        let between = "Hi,\n\n> first question\n\nyes\n\n> second\n\nno\n\n-- \nCarla";
        assert_eq!(reply_text(between).as_deref(), Some("Hi,\n\nyes\n\nno"));
        assert_eq!(reply_text("Just one line").as_deref(), Some("Just one line"));
        let from_in_text = "From: the team, thanks!\nBest";
        assert_eq!(reply_text(from_in_text).as_deref(), Some(from_in_text), "a From: without Sent: is text");
    }

    #[test]
    fn r44_a_reply_of_quotes_alone_has_no_words() {
        for quoted in [
            "> only a quote",
            "\n\n> a\n>\n> b\n",
            "On Mon, 23 Nov 2026 at 10:02, Acme Support <reply+abc@acme.test> wrote:\n> internal words",
            "On Mon, 23 Nov 2026 at 10:02, Acme Support\n<reply+abc@acme.test> wrote:\n\n> internal words\n",
            "On Mon, 23 Nov 2026, Acme wrote:\nan unmarked quote of internal words",
            "-----Original Message-----\nFrom: Acme\ninternal words",
            "",
            "   \n",
        ] {
            assert_eq!(reply_text(quoted), None, "{quoted:?}");
        }
    }
}
