//! Saved replies: the team's canned answers. Every user may use and add them; a reply is changed
//! or removed by whoever wrote it, or an admin. Customers never see them.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::saved_reply::{self, SavedReply, Values};
use parley_domain::*;
use parley_store::StoreError;

fn title_taken(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(_) => AppError::conflict("title_taken", "a saved reply already has this title"),
        e => AppError::from_store("saved reply")(e),
    }
}

/// A title and body that may be saved: well formed (400 otherwise), and every variable known (422).
fn checked(title: &str, body: &str) -> AppResult<(String, String)> {
    let (title, body) = (saved_reply::parse_title(title)?, saved_reply::parse_body(body)?);
    if let Some(why) = saved_reply::unknown_variable(&body) {
        return Err(AppError::unprocessable("unknown_variable", why));
    }
    Ok((title, body))
}

impl App {
    pub async fn saved_replies(&self, actor: Actor) -> AppResult<Vec<SavedReply>> {
        Self::require_user(actor, "saved reply")?;
        Ok(self.store.saved_replies().await?)
    }

    pub async fn create_saved_reply(&self, actor: Actor, title: &str, body: &str) -> AppResult<SavedReply> {
        let by = Self::require_user(actor, "saved reply")?;
        let (title, body) = checked(title, body)?;
        self.store.insert_saved_reply(&title, &body, by, self.now()).await.map_err(title_taken)
    }

    pub async fn update_saved_reply(
        &self,
        actor: Actor,
        id: SavedReplyId,
        title: &str,
        body: &str,
    ) -> AppResult<SavedReply> {
        self.own_saved_reply(actor, id).await?;
        let (title, body) = checked(title, body)?;
        self.store.update_saved_reply(id, &title, &body, self.now()).await.map_err(title_taken)
    }

    pub async fn delete_saved_reply(&self, actor: Actor, id: SavedReplyId) -> AppResult<()> {
        self.own_saved_reply(actor, id).await?;
        self.store.delete_saved_reply(id).await.map_err(AppError::from_store("saved reply"))
    }

    /// A saved reply's body with its variables filled for `conversation`, which the asker must
    /// see: its customer, its item, the asker's name.
    pub async fn fill_saved_reply(
        &self,
        actor: Actor,
        id: SavedReplyId,
        conversation: ConversationId,
    ) -> AppResult<String> {
        let me = Self::require_user(actor, "saved reply")?;
        let reply = self.store.saved_reply(id).await.map_err(AppError::from_store("saved reply"))?;
        let c = self.visible_conversation(actor, conversation).await?;
        let people = self.store.conversation_people(conversation).await?;
        // The customer the conversation is with: who asked for its item, else one taking part in
        // or following it.
        let customer = people
            .requesters
            .first()
            .copied()
            .or_else(|| c.participants.iter().chain(&c.followers).find_map(|p| p.customer()));
        let customer = match customer {
            Some(id) => Some(self.store.customer(id).await?.name),
            None => None,
        };
        let item = match c.header.link {
            Some(Link::Item(item)) => Some((self.store.item(item).await?.kind.title().to_string(), item.0)),
            _ => None,
        };
        let agent = self.store.user(me).await?.name;
        Ok(saved_reply::fill(&reply.body, &Values { customer, item, agent }))
    }

    /// A saved reply the asker may change: their own, or any for an admin.
    async fn own_saved_reply(&self, actor: Actor, id: SavedReplyId) -> AppResult<SavedReply> {
        let me = Self::require_user(actor, "saved reply")?;
        let reply = self.store.saved_reply(id).await.map_err(AppError::from_store("saved reply"))?;
        if reply.created_by != me && !actor.is_admin() {
            return Err(AppError::Forbidden("only its author or an admin may change a saved reply"));
        }
        Ok(reply)
    }
}
