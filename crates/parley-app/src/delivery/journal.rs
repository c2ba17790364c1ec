//! The sent journal (R14 across a crash): the ids of emails the SMTP server accepted, appended to a
//! local file the moment it answers, before the store records them as sent. A node killed between
//! the two finds the email "in doubt" after its restart; if the journal names it, it is recorded
//! as sent instead of being sent again. An append is a single small write with no fsync: it
//! survives the process being killed, not the machine losing power. The journal is emptied once
//! everything in it is recorded in the store, so it holds at most one batch.

use parley_domain::OutgoingEmailId;
use std::io::Write;
use std::path::PathBuf;

pub struct SentJournal {
    path: Option<PathBuf>,
}

impl SentJournal {
    /// A journal at `path`; `None` keeps none (every in-doubt email is sent again).
    pub fn new(path: Option<PathBuf>) -> Self {
        SentJournal { path }
    }

    /// The SMTP server accepted `id`.
    pub fn record(&self, id: OutgoingEmailId) {
        let Some(path) = &self.path else { return };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(format!("{id}\n").as_bytes()));
        if let Err(error) = written {
            tracing::warn!(%error, email = id.0, "could not write the sent journal");
        }
    }

    /// Whether `id` was accepted by the SMTP server before the last crash.
    pub fn holds(&self, id: OutgoingEmailId) -> bool {
        self.entries().contains(&id)
    }

    /// Every id in the journal.
    pub fn entries(&self) -> Vec<OutgoingEmailId> {
        let Some(path) = &self.path else { return Vec::new() };
        std::fs::read_to_string(path)
            .map(|text| text.lines().filter_map(|line| line.trim().parse().ok()).map(OutgoingEmailId).collect())
            .unwrap_or_default()
    }

    /// Everything in the journal is recorded in the store: start afresh.
    pub fn clear(&self) {
        if let Some(path) = &self.path {
            if let Err(error) = std::fs::write(path, b"") {
                tracing::warn!(%error, "could not empty the sent journal");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn r14_an_accepted_email_is_remembered_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let journal = SentJournal::new(Some(dir.path().join("sent.journal")));
        assert!(!journal.holds(OutgoingEmailId(7)));
        journal.record(OutgoingEmailId(7));
        journal.record(OutgoingEmailId(8));
        assert!(journal.holds(OutgoingEmailId(7)) && journal.holds(OutgoingEmailId(8)));
        assert!(!journal.holds(OutgoingEmailId(78)));
        journal.clear();
        assert!(!journal.holds(OutgoingEmailId(7)));
        assert!(!SentJournal::new(None).holds(OutgoingEmailId(7)));
    }
}
