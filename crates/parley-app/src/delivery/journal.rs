//! The sent journal (R14 across a crash): the ids of emails the SMTP server accepted, appended to a
//! local file the moment it answers, before the store records them as sent. A node killed between
//! the two finds the email "in doubt" after its restart; if the journal names it, it is recorded
//! as sent instead of being sent again. An append is a single small write with no fsync: it
//! survives the process being killed, not the machine losing power. Ids leave the journal once
//! the store has recorded them, so it holds at most the batches under way.

use parley_domain::OutgoingEmailId;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

pub struct SentJournal {
    path: Option<PathBuf>,
    open: Mutex<Open>,
}

/// The file, opened on first use and kept open (an email's record is one write, not an open), and
/// the ids written to it that the store has not recorded yet.
#[derive(Default)]
struct Open {
    file: Option<File>,
    unrecorded: BTreeSet<i64>,
}

impl SentJournal {
    /// A journal at `path`; `None` keeps none (every in-doubt email is sent again).
    pub fn new(path: Option<PathBuf>) -> Self {
        SentJournal { path, open: Mutex::new(Open::default()) }
    }

    fn with_file(&self, what: &str, act: impl FnOnce(&mut File, &mut BTreeSet<i64>) -> std::io::Result<()>) {
        let Some(path) = &self.path else { return };
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Open { file, unrecorded } = &mut *open;
        if file.is_none() {
            match std::fs::OpenOptions::new().create(true).append(true).open(path) {
                Ok(opened) => *file = Some(opened),
                Err(error) => return tracing::warn!(%error, "could not open the sent journal to {what}"),
            }
        }
        if let Some(file) = file.as_mut() {
            if let Err(error) = act(file, unrecorded) {
                tracing::warn!(%error, "could not {what} the sent journal");
            }
        }
    }

    /// The SMTP server accepted `id`.
    pub fn record(&self, id: OutgoingEmailId) {
        self.with_file("write", |file, unrecorded| {
            unrecorded.insert(id.0);
            file.write_all(format!("{id}\n").as_bytes())
        });
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

    /// These are recorded in the store now: the journal keeps only the others (several batches
    /// may be under way at once). Appends go to the end of the file, so after it is cut they
    /// start at its beginning again.
    pub fn forget(&self, ids: &[OutgoingEmailId]) {
        self.with_file("shorten", |file, unrecorded| {
            for id in ids {
                unrecorded.remove(&id.0);
            }
            file.set_len(0)?;
            let rest: String = unrecorded.iter().map(|id| format!("{id}\n")).collect();
            file.write_all(rest.as_bytes())
        });
    }

    /// Everything in the journal is recorded in the store: start afresh.
    pub fn clear(&self) {
        self.with_file("empty", |file, unrecorded| {
            unrecorded.clear();
            file.set_len(0)
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn r14_an_accepted_email_is_remembered_until_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let journal = SentJournal::new(Some(dir.path().join("sent.journal")));
        assert!(!journal.holds(OutgoingEmailId(7)));
        journal.record(OutgoingEmailId(7));
        journal.record(OutgoingEmailId(8));
        assert!(journal.holds(OutgoingEmailId(7)) && journal.holds(OutgoingEmailId(8)));
        assert!(!journal.holds(OutgoingEmailId(78)));
        journal.forget(&[OutgoingEmailId(7)]);
        assert!(!journal.holds(OutgoingEmailId(7)) && journal.holds(OutgoingEmailId(8)));
        journal.record(OutgoingEmailId(9));
        assert_eq!(journal.entries(), vec![OutgoingEmailId(8), OutgoingEmailId(9)], "appends after the cut");
        journal.clear();
        assert!(!journal.holds(OutgoingEmailId(8)));
        assert!(!SentJournal::new(None).holds(OutgoingEmailId(7)));
    }
}
