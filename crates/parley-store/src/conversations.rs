//! Conversations, messages and read positions.

use crate::error::StoreResult;
use crate::records::*;
use async_trait::async_trait;
use parley_domain::audience::Recipient;
use parley_domain::*;

#[async_trait]
pub trait ConversationStore {
    async fn insert_conversation(&self, conversation: NewConversation) -> StoreResult<Conversation>;
    async fn conversation(&self, id: ConversationId) -> StoreResult<Conversation>;
    /// The conversation with the followers of what it hangs off.
    async fn conversation_people(&self, id: ConversationId) -> StoreResult<ConversationPeople>;
    /// Everything a post into `id` by `poster` needs, read at once (see [`PostContext`]);
    /// `handles` are the `@handles` the body mentions. `None`: the bot, who stands in no relation.
    async fn post_context(
        &self,
        id: ConversationId,
        poster: Option<Party>,
        handles: &[String],
    ) -> StoreResult<PostContext>;
    async fn item_conversations(&self, item: ItemId) -> StoreResult<Vec<ConversationHeader>>;
    /// Compare-and-set of the state, recorded as changed `by` someone `at` a time; `Conflict` if
    /// it was no longer `from`.
    async fn set_state(
        &self,
        id: ConversationId,
        from: ConversationState,
        to: ConversationState,
        by: Author,
        at: i64,
    ) -> StoreResult<Conversation>;
    /// Every state change of a conversation, oldest first (a new message reopening it included).
    async fn state_changes(&self, id: ConversationId) -> StoreResult<Vec<StateChange>>;
    async fn set_conversation_party(
        &self,
        id: ConversationId,
        participant: bool,
        party: Party,
        on: bool,
    ) -> StoreResult<Conversation>;
    /// R5: links an independent conversation to an existing or a new item; its participants follow
    /// the item and, for a new item, its customer participants become requesters.
    async fn link_conversation(&self, id: ConversationId, target: LinkTarget) -> StoreResult<(Conversation, Item)>;

    /// Stores a message with its audience, numbers it, reopens a closed conversation, and refuses
    /// with `Locked` (writing nothing) when the conversation is locked (R6). The author has read
    /// their own message.
    async fn insert_message(&self, message: NewMessage) -> StoreResult<Message>;
    /// Messages after `after_number` that `reader` may see, oldest first; withdrawn ones never.
    /// For a customer, `number` (and `after_number`) is the message's position among those the
    /// customer may read: no gaps where a message was undone or made internal (R7, R33).
    async fn messages(
        &self,
        conversation: ConversationId,
        after_number: i64,
        limit: i64,
        reader: Reader,
    ) -> StoreResult<Vec<Message>>;
    async fn message(&self, id: MessageId) -> StoreResult<Message>;
    /// A message's conversation and author, with the facts that decide who may read it (R7,
    /// R33), an undone message included (`withdrawn`); `NotFound` if there is no such message.
    async fn message_facts(&self, id: MessageId) -> StoreResult<(ConversationId, Author, access::MessageFacts)>;
    /// The number customers are shown for a message (its position among the messages of its
    /// conversation they may read at `now`), or `None` if they may not read it.
    async fn customer_number(&self, id: MessageId, now: i64) -> StoreResult<Option<i64>>;
    async fn message_audience(&self, id: MessageId) -> StoreResult<Vec<Recipient>>;

    /// R33: takes back a message still held, by compare-and-set (`Conflict` once it was released
    /// or taken back); pending emails about it are suppressed (`undone`, or for customers
    /// `internal_to_customer`).
    async fn retract_message(&self, id: MessageId, how: Retraction, now: i64) -> StoreResult<Message>;
    /// How many messages of a conversation `reader` may see, and when the latest was written.
    async fn visible_activity(&self, id: ConversationId, reader: Reader) -> StoreResult<(i64, Option<i64>)>;
    /// R33: marks held messages whose time has come as released, and returns them.
    async fn release_held(&self, now: i64, limit: i64) -> StoreResult<Vec<Message>>;

    /// R42: assigns (or unassigns) a user an independent conversation; assigned, they follow it.
    async fn set_conversation_assignee(&self, id: ConversationId, user: UserId, on: bool) -> StoreResult<Conversation>;
    /// R42: routes conversation `id` round-robin, in one write: unless someone is assigned it
    /// already, the next of `eligible` (`routing::next`) that is available at `now` and has fewer
    /// than `cap` open conversations assigned, after the one chosen last, is assigned it (the
    /// conversation, or its item when linked; they then follow it) and remembered. Answers who
    /// was; `None` when nobody is available with room, or someone was assigned already.
    async fn route_conversation(
        &self,
        id: ConversationId,
        eligible: &[UserId],
        cap: i64,
        now: i64,
    ) -> StoreResult<Option<UserId>>;
    /// R42: the open conversations assigned to `user`, their own and their items'.
    async fn open_assigned(&self, user: UserId) -> StoreResult<Vec<ConversationId>>;

    /// Finishes the inbox rebuilds an upgrade left to do in the background (R41: the rows of
    /// conversations users wrote in before they took part by writing); answers how many people's
    /// inboxes it finished. Runs while the server serves; a node started later finds nothing left.
    async fn finish_background_rebuilds(&self) -> StoreResult<usize>;

    /// A person's counts per view, read from their inbox; views with nothing in them may be
    /// missing.
    async fn inbox_counts(&self, party: Party) -> StoreResult<Vec<ViewTally>>;
    /// Up to `limit` conversations of a view from the person's inbox that pass `filter`, newest
    /// activity first, all older than `before` when given.
    async fn inbox_page(
        &self,
        party: Party,
        view: parley_domain::views::View,
        filter: InboxFilter,
        before: Option<InboxCursor>,
        limit: i64,
    ) -> StoreResult<Vec<InboxEntry>>;
    /// What the list rows of these conversations show besides their headers (see [`RowDetail`]),
    /// the latest message being the latest one `reader` may read; in no particular order.
    async fn row_details(&self, conversations: &[ConversationId], reader: Reader) -> StoreResult<Vec<RowDetail>>;

    /// Every conversation with the asking user's relation to it, newest activity first: the full
    /// computation the inbox must always agree with (kept for the tests that prove it).
    async fn conversation_rows_for_user(&self, user: UserId) -> StoreResult<Vec<ConversationRow>>;
    /// The conversations a customer takes part in, follows, requested, or whose project is shared
    /// with them, newest activity first. Only public ones.
    /// `now` decides which held messages count as unread (R33).
    async fn conversation_rows_for_customer(&self, customer: CustomerId, now: i64)
        -> StoreResult<Vec<ConversationRow>>;
    /// How a person stands to one conversation.
    async fn relation(&self, id: ConversationId, party: Party) -> StoreResult<parley_domain::access::Relation>;
    /// Records that a person has read up to message `number` (never moves back), which is seeing
    /// every message up to it (R13). For a customer, `number` is one of their numbers. Returns the
    /// read position and the messages newly seen.
    async fn mark_read(
        &self,
        id: ConversationId,
        party: Party,
        number: i64,
        now: i64,
    ) -> StoreResult<(i64, Vec<SeenReceipt>)>;
}
