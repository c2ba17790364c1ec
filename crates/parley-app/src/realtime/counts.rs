//! R26, R27 pushed: every committed write announces the counts it changed (`Store::tally_changes`),
//! and this relay passes each connected person theirs — only the views that changed, with the
//! values the write left, so a push reads nothing and recomputes nothing.

use super::events::EventBody;
use crate::views::ViewCount;
use crate::{App, AppResult};
use parley_domain::Party;
use parley_store::TallyChange;
use std::collections::BTreeMap;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

pub struct CountsRelay;

impl CountsRelay {
    /// Listens from now on: no write committed after this returns goes unannounced.
    pub fn spawn(app: App) -> JoinHandle<()> {
        let mut changes = app.store.tally_changes();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(batch) => app.push_tallies(&batch),
                    Err(RecvError::Lagged(missed)) => {
                        // What the missed batches changed is unknown: whoever is connected gets
                        // all their counts afresh.
                        tracing::warn!(missed, "count changes fell behind; sending everyone's counts");
                        if let Err(error) = app.push_all_counts().await {
                            tracing::warn!(%error, "sending counts afresh failed");
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}

impl App {
    fn push_tallies(&self, batch: &[TallyChange]) {
        let mut by_party: BTreeMap<Party, Vec<ViewCount>> = BTreeMap::new();
        for change in batch {
            if self.hub.is_online(change.party) {
                // A write may move one view twice (the rows of two conversations); the last value
                // is the one it left.
                let views = by_party.entry(change.party).or_default();
                views.retain(|v| v.view != change.tally.view);
                views.push(ViewCount::of(change.tally));
            }
        }
        for (party, views) in by_party {
            self.push(party, EventBody::Counts { views }, None);
        }
    }

    async fn push_all_counts(&self) -> AppResult<()> {
        for party in self.hub.online() {
            let views = self.views(self.actor_of(party).await?).await?;
            self.push(party, EventBody::Counts { views }, None);
        }
        Ok(())
    }
}
