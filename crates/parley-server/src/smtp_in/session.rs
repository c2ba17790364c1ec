//! One SMTP session as RFC 5321 has it, without I/O (R45): the commands in their order, the
//! message data, and every limit a client could otherwise stretch. `smtp-proto` parses a command
//! line; what it means here, and when, is decided below. The listener feeds it the lines it reads
//! and writes what it answers; what the address checks and rate limits say comes through a
//! [`Gate`], asked at MAIL and RCPT time, before anything is kept.

use smtp_proto::{Error as ParseError, Request, MAIL_SMTPUTF8};
use std::borrow::Cow;

/// What one session may use. The defaults are the listener's (see `SECURITY.md`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message (its data, after dot-unstuffing); 552 beyond.
    pub max_message_bytes: usize,
    /// Recipients of one mail; 452 beyond (RFC 5321 §4.5.3.1.8 asks for at least 100).
    pub max_recipients: usize,
    /// Longest reverse- or forward-path (RFC 5321 §4.5.3.1.3: 256 octets).
    pub max_path: usize,
    /// Longest command line, CRLF included (512 in RFC 5321, with room for extension parameters).
    pub max_command_line: usize,
    /// Longest line of a message's text, CRLF included. RFC 5321 asks for 1,000; some senders
    /// write longer ones, which are taken up to this.
    pub max_data_line: usize,
    /// Commands in one session.
    pub max_commands: usize,
    /// Commands that move no mail (NOOP, RSET, VRFY, HELP, unknown or refused ones) in one session.
    pub max_idle_commands: usize,
    /// Bytes a client may send in one session, all mails together.
    pub max_session_bytes: usize,
}

impl Limits {
    pub fn new(max_message_bytes: usize) -> Self {
        Limits {
            max_message_bytes,
            max_recipients: 100,
            max_path: 256,
            max_command_line: 1_024,
            max_data_line: 8_192,
            max_commands: 1_000,
            max_idle_commands: 30,
            max_session_bytes: max_message_bytes.saturating_mul(4),
        }
    }
}

/// An SMTP reply: its code and its text (the enhanced status code first, RFC 3463).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<Cow<'static, str>>,
}

impl Reply {
    pub fn new(code: u16, text: impl Into<Cow<'static, str>>) -> Self {
        Reply { code, lines: vec![text.into()] }
    }

    /// The reply as it goes on the wire: `250-…` for every line but the last, `250 …` for it.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            let sep = if i + 1 == self.lines.len() { ' ' } else { '-' };
            out.push_str(&format!("{}{sep}{line}\r\n", self.code));
        }
        out.into_bytes()
    }
}

/// What the listener does after a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Answer and read on.
    Reply(Reply),
    /// A line of a message's data: nothing to answer.
    Quiet,
    /// Answer, then close the connection.
    Close(Reply),
    /// Answer, then begin TLS; the session starts afresh on it.
    StartTls(Reply),
    /// A message is complete: hand it over and answer for it.
    Deliver(Transaction),
}

/// One mail, as the envelope and the data gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The reverse-path; `None` for the null one (`MAIL FROM:<>`: bounces and auto-replies).
    pub from: Option<String>,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    /// The client asked for SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
}

/// The address checks and limits, asked when the client names them.
pub trait Gate {
    /// May a mail from `from` (`None`: the null reverse-path) begin now? A refusal is answered.
    fn sender(&mut self, from: Option<&str>) -> Result<(), Reply>;
    /// Does Parley take mail for `to`?
    fn recipient(&mut self, to: &str) -> Result<(), Reply>;
}

#[derive(Debug)]
enum State {
    /// Before EHLO or HELO.
    Start,
    Ready,
    /// After MAIL, collecting recipients.
    Mail {
        from: Option<String>,
        smtputf8: bool,
        to: Vec<String>,
    },
    /// After DATA's 354, reading the message.
    Data {
        from: Option<String>,
        smtputf8: bool,
        to: Vec<String>,
        data: Vec<u8>,
        refused: Option<Reply>,
    },
}

/// One session.
pub struct Session {
    hostname: String,
    limits: Limits,
    tls_offered: bool,
    state: State,
    commands: usize,
    idle_commands: usize,
    bytes: usize,
    /// The rest of a line longer than the limit is still arriving: it is dropped.
    in_long_line: bool,
}

impl Session {
    /// A session; `tls_offered` when STARTTLS is available and not in use yet.
    pub fn new(hostname: impl Into<String>, limits: Limits, tls_offered: bool) -> Self {
        Session {
            hostname: hostname.into(),
            limits,
            tls_offered,
            state: State::Start,
            commands: 0,
            idle_commands: 0,
            bytes: 0,
            in_long_line: false,
        }
    }

    pub fn greeting(&self) -> Reply {
        Reply::new(220, format!("{} ESMTP Parley", self.hostname))
    }

    /// The longest line the listener should hand over at once now.
    pub fn max_line(&self) -> usize {
        match self.state {
            State::Data { .. } => self.limits.max_data_line,
            _ => self.limits.max_command_line,
        }
    }

    /// After TLS began: everything known before it is forgotten (RFC 3207 §4.2).
    pub fn tls_started(&mut self) {
        self.tls_offered = false;
        self.state = State::Start;
    }

    /// One line as read: `ended` when it ends in CRLF, else it is the first `max_line()` bytes of
    /// a longer one (or the last bytes before the client closed).
    pub fn line(&mut self, line: &[u8], ended: bool, gate: &mut impl Gate) -> Step {
        self.bytes = self.bytes.saturating_add(line.len());
        if self.bytes > self.limits.max_session_bytes {
            return Step::Close(Reply::new(421, "4.7.0 Too much data in one session, closing"));
        }
        let long = std::mem::replace(&mut self.in_long_line, !ended);
        if let State::Data { .. } = self.state {
            return self.data_line(line, ended, long);
        }
        if long {
            // The rest of a command that was already refused.
            return Step::Quiet;
        }
        if !ended {
            return self.refuse(500, "5.5.2 Line too long");
        }
        self.commands += 1;
        if self.commands > self.limits.max_commands {
            return Step::Close(Reply::new(421, "4.7.0 Too many commands in one session, closing"));
        }
        // A command ends in CRLF, and only there: a bare LF inside one is refused, so that no
        // line is read as two.
        let body = &line[..line.len() - 2];
        if body.contains(&b'\n') || body.contains(&b'\r') {
            return self.refuse(500, "5.5.2 Lines end in CRLF");
        }
        match Request::parse(&mut line.iter()) {
            Ok(request) => self.command(request, gate),
            Err(ParseError::UnknownCommand) => self.refuse(500, "5.5.1 Unknown command"),
            Err(ParseError::InvalidSenderAddress | ParseError::InvalidRecipientAddress) => {
                self.refuse(501, "5.1.3 Bad address syntax")
            }
            Err(ParseError::UnsupportedParameter { .. }) => self.refuse(555, "5.5.4 Unsupported parameter"),
            Err(ParseError::InvalidParameter { .. }) => self.refuse(501, "5.5.4 Invalid parameter"),
            Err(_) => self.refuse(501, "5.5.2 Syntax error"),
        }
    }

    /// A refused or idle command: answered, and counted against the session.
    fn refuse(&mut self, code: u16, text: &'static str) -> Step {
        self.idle(Reply::new(code, text))
    }

    fn idle(&mut self, answer: Reply) -> Step {
        self.idle_commands += 1;
        if self.idle_commands > self.limits.max_idle_commands {
            return Step::Close(Reply::new(421, "4.7.0 Too many commands that send no mail, closing"));
        }
        Step::Reply(answer)
    }

    fn command(&mut self, request: Request<Cow<'_, str>>, gate: &mut impl Gate) -> Step {
        let state = std::mem::replace(&mut self.state, State::Start);
        let (state, step) = match (state, request) {
            (_, Request::Quit) => (State::Start, Step::Close(Reply::new(221, "2.0.0 Bye"))),
            (_, Request::Ehlo { host: _ }) => (State::Ready, Step::Reply(self.ehlo())),
            (_, Request::Helo { host: _ }) => (State::Ready, Step::Reply(Reply::new(250, self.hostname.clone()))),
            (State::Start, Request::StartTls) | (State::Ready, Request::StartTls) if self.tls_offered => {
                (State::Start, Step::StartTls(Reply::new(220, "2.0.0 Ready to start TLS")))
            }
            (state, Request::StartTls) => (state, self.refuse(503, "5.5.1 TLS is not available now")),
            (State::Start, Request::Mail { .. }) => (State::Start, self.refuse(503, "5.5.1 Say EHLO first")),
            (State::Ready, Request::Mail { from }) => self.mail(from, gate),
            (state @ State::Mail { .. }, Request::Mail { .. }) => (state, self.refuse(503, "5.5.1 One mail at a time")),
            (State::Mail { from, smtputf8, mut to }, Request::Rcpt { to: rcpt }) => {
                let step = self.rcpt(&rcpt.address, &mut to, gate);
                (State::Mail { from, smtputf8, to }, step)
            }
            (state, Request::Rcpt { .. }) => (state, self.refuse(503, "5.5.1 MAIL first")),
            (State::Mail { from, smtputf8, to }, Request::Data) if !to.is_empty() => (
                State::Data { from, smtputf8, to, data: Vec::new(), refused: None },
                Step::Reply(Reply::new(354, "Start mail input; end with <CRLF>.<CRLF>")),
            ),
            (state @ State::Mail { .. }, Request::Data) => (state, self.refuse(554, "5.5.1 No valid recipients")),
            (state, Request::Data) => (state, self.refuse(503, "5.5.1 MAIL first")),
            (state, Request::Rset) => {
                let next = if let State::Start = state { State::Start } else { State::Ready };
                (next, self.idle(Reply::new(250, "2.0.0 Ok")))
            }
            (state, Request::Noop { .. }) => (state, self.idle(Reply::new(250, "2.0.0 Ok"))),
            (state, Request::Vrfy { .. }) => (state, self.idle(Reply::new(252, "2.5.0 Cannot verify, send some mail"))),
            (state, Request::Help { .. }) => {
                (state, self.idle(Reply::new(214, "2.0.0 See RFC 5321; commands: EHLO MAIL RCPT DATA RSET QUIT")))
            }
            (state, _) => (state, self.refuse(502, "5.5.1 Command not implemented")),
        };
        self.state = state;
        step
    }

    fn ehlo(&self) -> Reply {
        let mut lines: Vec<Cow<'static, str>> = vec![
            self.hostname.clone().into(),
            "PIPELINING".into(),
            format!("SIZE {}", self.limits.max_message_bytes).into(),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
        ];
        if self.tls_offered {
            lines.push("STARTTLS".into());
        }
        Reply { code: 250, lines }
    }

    fn mail(&mut self, from: smtp_proto::MailFrom<Cow<'_, str>>, gate: &mut impl Gate) -> (State, Step) {
        if from.address.len() > self.limits.max_path {
            return (State::Ready, self.refuse(501, "5.1.7 Sender address too long"));
        }
        if from.size > self.limits.max_message_bytes {
            return (State::Ready, self.refuse(552, "5.3.4 Message too large"));
        }
        let sender = (!from.address.is_empty()).then(|| from.address.to_string());
        if let Err(refusal) = gate.sender(sender.as_deref()) {
            return (State::Ready, self.idle(refusal));
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        (State::Mail { from: sender, smtputf8, to: Vec::new() }, Step::Reply(Reply::new(250, "2.1.0 Ok")))
    }

    fn rcpt(&mut self, address: &str, to: &mut Vec<String>, gate: &mut impl Gate) -> Step {
        if to.len() >= self.limits.max_recipients {
            return self.refuse(452, "4.5.3 Too many recipients");
        }
        if address.len() > self.limits.max_path {
            return self.refuse(501, "5.1.3 Recipient address too long");
        }
        match gate.recipient(address) {
            Ok(()) => {
                to.push(address.to_string());
                Step::Reply(Reply::new(250, "2.1.5 Ok"))
            }
            Err(refusal) => self.idle(refusal),
        }
    }

    /// A line of the data: CRLF "." CRLF ends it, and nothing else does (a bare LF is data).
    fn data_line(&mut self, line: &[u8], ended: bool, continued: bool) -> Step {
        let State::Data { data, refused, .. } = &mut self.state else { return Step::Quiet };
        if !continued && line == b".\r\n" {
            let State::Data { from, smtputf8, to, data, refused } = std::mem::replace(&mut self.state, State::Ready)
            else {
                return Step::Quiet;
            };
            return match refused {
                Some(refusal) => Step::Reply(refusal),
                None => Step::Deliver(Transaction { from, to, data, smtputf8 }),
            };
        }
        if refused.is_some() {
            return Step::Quiet;
        }
        if !ended {
            *refused = Some(Reply::new(500, "5.5.2 Line too long"));
            *data = Vec::new();
            return Step::Quiet;
        }
        // Dot-stuffing undone (RFC 5321 §4.5.2), only at the start of a line.
        let line = if !continued && line.first() == Some(&b'.') { &line[1..] } else { line };
        if data.len() + line.len() > self.limits.max_message_bytes {
            *refused = Some(Reply::new(552, "5.3.4 Message too large"));
            *data = Vec::new();
            return Step::Quiet;
        }
        data.extend_from_slice(line);
        Step::Quiet
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Takes mail for `support@acme.test` only; refuses senders named `flood@…`.
    #[derive(Default)]
    struct TestGate {
        senders: Vec<Option<String>>,
    }

    impl Gate for TestGate {
        fn sender(&mut self, from: Option<&str>) -> Result<(), Reply> {
            self.senders.push(from.map(str::to_string));
            match from {
                Some(f) if f.starts_with("flood@") => Err(Reply::new(450, "4.7.1 Too many mails")),
                _ => Ok(()),
            }
        }

        fn recipient(&mut self, to: &str) -> Result<(), Reply> {
            match to == "support@acme.test" {
                true => Ok(()),
                false => Err(Reply::new(550, "5.1.1 No such mailbox here")),
            }
        }
    }

    fn limits() -> Limits {
        Limits { max_recipients: 3, max_command_line: 64, max_data_line: 32, ..Limits::new(200) }
    }

    /// Feeds each line (CRLF added unless it has its own ending) and gives every step.
    fn run(session: &mut Session, gate: &mut TestGate, lines: &[&str]) -> Vec<Step> {
        lines
            .iter()
            .map(|l| {
                let line = if l.ends_with('\n') { l.to_string() } else { format!("{l}\r\n") };
                session.line(line.as_bytes(), true, gate)
            })
            .collect()
    }

    fn code(step: &Step) -> u16 {
        match step {
            Step::Reply(r) | Step::Close(r) | Step::StartTls(r) => r.code,
            Step::Quiet => 0,
            Step::Deliver(_) => 1,
        }
    }

    fn codes(steps: &[Step]) -> Vec<u16> {
        steps.iter().map(code).collect()
    }

    fn delivered(steps: &[Step]) -> Vec<&Transaction> {
        steps.iter().filter_map(|s| if let Step::Deliver(t) = s { Some(t) } else { None }).collect()
    }

    fn session() -> (Session, TestGate) {
        (Session::new("mx.acme.test", limits(), false), TestGate::default())
    }

    #[test]
    fn r45_the_null_reverse_path_is_accepted_for_bounces_and_auto_replies() {
        let (mut s, mut gate) = session();
        let steps =
            run(&mut s, &mut gate, &["EHLO mta", "MAIL FROM:<>", "RCPT TO:<support@acme.test>", "DATA", "x", "."]);
        assert_eq!(codes(&steps), [250, 250, 250, 354, 0, 1]);
        assert_eq!(delivered(&steps)[0].from, None);
        assert_eq!(gate.senders, [None], "the gate is asked, with no sender");
    }

    #[test]
    fn r45_size_and_smtputf8_are_taken_and_a_declared_size_over_the_limit_is_refused_at_once() {
        let (mut s, mut gate) = session();
        let steps = run(
            &mut s,
            &mut gate,
            &[
                "EHLO mta",
                "MAIL FROM:<a@b.example> SIZE=100 SMTPUTF8 BODY=8BITMIME",
                "RSET",
                "MAIL FROM:<a@b.example> SIZE=201",
            ],
        );
        assert_eq!(codes(&steps), [250, 250, 250, 552]);
        let Step::Reply(ehlo) = &steps[0] else { panic!() };
        for offered in ["SIZE 200", "SMTPUTF8", "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES"] {
            assert!(ehlo.lines.iter().any(|l| l == offered), "{offered}: {ehlo:?}");
        }
        let steps =
            run(&mut s, &mut gate, &["MAIL FROM:<a@b.example> SMTPUTF8", "RCPT TO:<support@acme.test>", "DATA", "."]);
        assert!(delivered(&steps)[0].smtputf8);
        let steps = run(&mut s, &mut gate, &["MAIL FROM:<a@b.example> XFOO=1"]);
        assert_eq!(codes(&steps), [555]);
    }

    #[test]
    fn r45_a_mail_takes_a_limited_number_of_recipients_then_452() {
        let (mut s, mut gate) = session();
        let mut lines = vec!["EHLO mta", "MAIL FROM:<a@b.example>"];
        lines.extend(["RCPT TO:<support@acme.test>"; 4]);
        assert_eq!(codes(&run(&mut s, &mut gate, &lines)), [250, 250, 250, 250, 250, 452]);
    }

    #[test]
    fn r45_a_path_longer_than_256_octets_is_refused() {
        let mut s = Session::new("mx", Limits::new(1_000), false);
        let mut gate = TestGate::default();
        let long = format!("MAIL FROM:<{}@b.example>", "a".repeat(250));
        let long_rcpt = format!("RCPT TO:<{}@acme.test>", "s".repeat(250));
        let steps = run(&mut s, &mut gate, &["EHLO mta", &long, "MAIL FROM:<a@b.example>", &long_rcpt]);
        assert_eq!(codes(&steps)[1] / 100, 5, "{steps:?}");
        assert_eq!(codes(&steps)[2], 250);
        assert_eq!(codes(&steps)[3] / 100, 5, "{steps:?}");
        assert!(gate.senders.len() == 1, "a refused path never reaches the gate");
    }

    #[test]
    fn r45_the_senders_limits_are_asked_at_mail_time_before_any_data() {
        let (mut s, mut gate) = session();
        let steps = run(&mut s, &mut gate, &["EHLO mta", "MAIL FROM:<flood@b.example>", "RCPT TO:<support@acme.test>"]);
        assert_eq!(codes(&steps), [250, 450, 503]);
    }

    #[test]
    fn r45_a_bare_lf_never_ends_the_data_so_no_mail_hides_inside_another() {
        let (mut s, mut gate) = session();
        let mut steps =
            run(&mut s, &mut gate, &["EHLO mta", "MAIL FROM:<a@b.example>", "RCPT TO:<support@acme.test>", "DATA"]);
        // One line as the reader hands it: the bare LFs are inside it.
        steps.push(s.line(b"hi\n.\nMAIL FROM:<x@y>\n\r\n", true, &mut gate));
        steps.extend(run(&mut s, &mut gate, &["."]));
        assert_eq!(codes(&steps), [250, 250, 250, 354, 0, 1]);
        let mail = delivered(&steps);
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].data, b"hi\n.\nMAIL FROM:<x@y>\n\r\n".to_vec(), "all of it is data");
    }

    #[test]
    fn r45_a_bare_lf_or_cr_inside_a_command_is_refused() {
        let (mut s, mut gate) = session();
        let steps =
            run(&mut s, &mut gate, &["EHLO mta", "NOOP\nMAIL FROM:<a@b.example>", "RCPT TO:<support@acme.test>"]);
        assert_eq!(codes(&steps), [250, 500, 503]);
    }

    #[test]
    fn r45_a_command_longer_than_the_limit_is_refused_and_the_session_goes_on() {
        let (mut s, mut gate) = session();
        run(&mut s, &mut gate, &["EHLO mta"]);
        assert_eq!(code(&s.line(&[b'N'; 64], false, &mut gate)), 500);
        assert_eq!(code(&s.line(b"OOP\r\n", true, &mut gate)), 0, "its rest is dropped");
        assert_eq!(codes(&run(&mut s, &mut gate, &["NOOP"])), [250]);
    }

    #[test]
    fn r45_a_data_line_longer_than_the_limit_refuses_the_mail_at_its_end() {
        let (mut s, mut gate) = session();
        run(&mut s, &mut gate, &["EHLO mta", "MAIL FROM:<a@b.example>", "RCPT TO:<support@acme.test>", "DATA"]);
        assert_eq!(code(&s.line(&[b'x'; 32], false, &mut gate)), 0);
        // The rest of the long line, even when it looks like the end, is not the end.
        assert_eq!(code(&s.line(b".\r\n", true, &mut gate)), 0);
        assert_eq!(code(&s.line(b".\r\n", true, &mut gate)), 500);
        assert_eq!(codes(&run(&mut s, &mut gate, &["NOOP"])), [250], "the session goes on");
    }

    #[test]
    fn r45_a_message_over_the_size_limit_is_read_to_its_end_and_refused_with_552() {
        let (mut s, mut gate) = session();
        let mut lines = vec!["EHLO mta", "MAIL FROM:<a@b.example>", "RCPT TO:<support@acme.test>", "DATA"];
        lines.extend(["0123456789012345678901234567"; 10]);
        lines.push(".");
        let steps = run(&mut s, &mut gate, &lines);
        assert_eq!(code(steps.last().unwrap()), 552);
        assert!(delivered(&steps).is_empty());
    }

    #[test]
    fn r45_dot_stuffing_is_undone_at_the_start_of_lines_only() {
        let (mut s, mut gate) = session();
        let steps = run(
            &mut s,
            &mut gate,
            &["EHLO mta", "MAIL FROM:<a@b.example>", "RCPT TO:<support@acme.test>", "DATA", "..x.", "a..", "."],
        );
        assert_eq!(delivered(&steps)[0].data, b".x.\r\na..\r\n".to_vec());
    }

    #[test]
    fn r45_commands_that_send_no_mail_end_the_session_past_their_limit() {
        let (mut s, mut gate) = session();
        let noops = vec!["NOOP"; 31];
        let steps = run(&mut s, &mut gate, &noops);
        assert!(matches!(steps.last(), Some(Step::Close(r)) if r.code == 421), "{:?}", steps.last());
        assert_eq!(codes(&steps[..30]), vec![250; 30]);
    }

    #[test]
    fn r45_a_sessions_bytes_are_bounded() {
        let (mut s, mut gate) = session();
        run(&mut s, &mut gate, &["EHLO mta", "MAIL FROM:<a@b.example>", "RCPT TO:<support@acme.test>", "DATA"]);
        let line = [b'x'; 30];
        let mut last = Step::Quiet;
        for _ in 0..40 {
            last = s.line(&[&line[..], b"\r\n"].concat(), true, &mut gate);
            if let Step::Close(_) = last {
                break;
            }
        }
        assert!(matches!(last, Step::Close(ref r) if r.code == 421), "{last:?}");
    }

    #[test]
    fn r45_commands_out_of_order_get_503_and_quit_closes() {
        let (mut s, mut gate) = session();
        let steps = run(
            &mut s,
            &mut gate,
            &[
                "MAIL FROM:<a@b.example>",
                "HELO mta",
                "RCPT TO:<support@acme.test>",
                "DATA",
                "MAIL FROM:<a@b.example>",
                "MAIL FROM:<a@b.example>",
                "DATA",
                "RCPT TO:<other@else.example>",
                "STARTTLS",
                "QUIT",
            ],
        );
        assert_eq!(codes(&steps), [503, 250, 503, 503, 250, 503, 554, 550, 503, 221]);
        assert!(matches!(steps.last(), Some(Step::Close(_))));
    }

    #[test]
    fn r45_starttls_is_offered_until_it_begins_and_the_session_then_starts_afresh() {
        let mut s = Session::new("mx", limits(), true);
        let mut gate = TestGate::default();
        let steps = run(&mut s, &mut gate, &["EHLO mta", "STARTTLS"]);
        let Step::Reply(ehlo) = &steps[0] else { panic!() };
        assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"));
        assert!(matches!(steps[1], Step::StartTls(_)));
        s.tls_started();
        let steps = run(&mut s, &mut gate, &["MAIL FROM:<a@b.example>", "EHLO mta", "STARTTLS"]);
        assert_eq!(codes(&steps), [503, 250, 503]);
        let Step::Reply(ehlo) = &steps[1] else { panic!() };
        assert!(!ehlo.lines.iter().any(|l| l == "STARTTLS"));
    }

    #[test]
    fn replies_go_on_the_wire_with_dashes_between_lines() {
        let reply = Reply { code: 250, lines: vec!["mx".into(), "SIZE 10".into()] };
        assert_eq!(reply.to_wire(), b"250-mx\r\n250 SIZE 10\r\n".to_vec());
    }
}
