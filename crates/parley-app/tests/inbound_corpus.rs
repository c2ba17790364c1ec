//! Email in, on real-looking mail: every `tests/corpus/<name>.eml` with a `<name>.txt` beside it is
//! read and its new text must be exactly that file (R17) — Gmail, Outlook (HTML only), Apple Mail,
//! Thunderbird, an iPhone, an Android client in base64, Latin-1 quoted-printable. And the reader
//! takes any bytes without panicking: random ones, and the corpus mutated. A longer run of the
//! latter: `PROPTEST_CASES=100000 cargo test -p parley-app --test inbound_corpus`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_domain::inbound::{automatic, fit_body, reply_text};
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read(p).unwrap()))
        .collect()
}

#[test]
fn r17_each_mail_of_the_corpus_gives_its_expected_text() {
    let mut checked = 0;
    for (name, raw) in corpus() {
        let expected = corpus_dir().join(format!("{name}.txt"));
        let Ok(expected) = std::fs::read_to_string(&expected) else { continue };
        let mail = parley_app::parse_email(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(automatic(&mail.automatic_signs(), "acme.test"), None, "{name} is a person's mail");
        assert_eq!(reply_text(&mail.text).as_deref(), Some(expected.trim_end()), "{name}");
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} corpus mails have an expected text");
}

/// What a mail goes through before anything is decided: none of it may panic.
fn read_fully(raw: &[u8]) {
    if let Ok(mail) = parley_app::parse_email(raw) {
        let _ = automatic(&mail.automatic_signs(), "acme.test");
        let _ = reply_text(&mail.text).map(|t| fit_body(&t));
    }
}

proptest::proptest! {
    #[test]
    fn any_bytes_are_read_without_panicking(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
        read_fully(&raw);
    }

    #[test]
    fn mutated_corpus_mail_is_read_without_panicking(
        pick in 0usize..64,
        edits in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY, 0u8..3), 1..24),
    ) {
        let all = corpus();
        let mut raw = all[pick % all.len()].1.clone();
        for (at, byte, how) in edits {
            if raw.is_empty() {
                raw.push(byte);
                continue;
            }
            let at = at % raw.len();
            match how {
                0 => raw[at] = byte,
                1 => raw.insert(at, byte),
                _ => drop(raw.remove(at)),
            }
        }
        read_fully(&raw);
    }
}
