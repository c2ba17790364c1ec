//! What goes into the store and the composite answers that come out of it.

use parley_domain::access::Relation;
use parley_domain::audience::Audience;
use parley_domain::delivery::{plan_email, EmailPlan};
use parley_domain::*;

pub struct NewUser {
    pub email: EmailAddress,
    pub name: String,
    pub handle: String,
    pub role: Role,
    pub password_hash: String,
    pub preferences: Preferences,
    pub created_at: i64,
}

pub struct NewCustomer {
    /// `None` for a live-chat visitor.
    pub email: Option<EmailAddress>,
    pub name: String,
    pub organization_id: Option<OrganizationId>,
    pub password_hash: Option<String>,
    pub created_at: i64,
}

/// Who a session or token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRecord {
    pub party: Party,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub project_id: ProjectId,
    pub kind: ItemKind,
    pub title: String,
    /// A user, or a customer whose mail opened it (R18).
    pub created_by: Party,
    pub requesters: Vec<CustomerId>,
    pub assignees: Vec<UserId>,
    pub created_at: i64,
}

/// Changes to an item's own fields; `None` leaves a field as it is.
#[derive(Default)]
pub struct ItemPatch {
    pub title: Option<String>,
    pub status: Option<ItemStatus>,
}

/// The people attached to an item or project, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRole {
    Follower,
    Requester,
    Assignee,
}

/// Project membership and following.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectRole {
    MemberUser(UserId),
    MemberTeam(TeamId),
    FollowerUser(UserId),
    FollowerCustomer(CustomerId),
    FollowerOrganization(OrganizationId),
}

pub struct NewConversation {
    pub subject: String,
    pub visibility: Visibility,
    pub link: Option<Link>,
    pub created_by: Author,
    pub participants: Vec<Party>,
    pub followers: Vec<Party>,
    pub created_at: i64,
}

/// The people around a conversation, as the audience rule needs them.
#[derive(Debug, Clone)]
pub struct ConversationPeople {
    pub conversation: Conversation,
    /// Followers of the linked item, or of the linked project (organizations expanded to their
    /// customers).
    pub item_followers: Vec<Party>,
    pub requesters: Vec<CustomerId>,
}

/// What posting into a conversation needs to know, read together (one connection, a handful of
/// statements): the conversation and its people, how the poster stands to it, the users the body
/// mentions, and the preference profiles the audience rule and the access rule ask for.
#[derive(Debug, Clone)]
pub struct PostContext {
    pub people: ConversationPeople,
    /// The poster's relation to the conversation (R7, R20).
    pub relation: Relation,
    /// Users found for the mentioned handles, in the order asked; unknown handles are left out.
    pub mentioned: Vec<UserId>,
    /// Profiles of the poster (if a user), of every user named around the conversation or
    /// mentioned, and of every user who asks for all customer messages or replies (R10).
    pub profiles: Vec<UserProfile>,
    /// R33: the send guards the company set.
    pub send_guards: SendGuards,
}

impl PostContext {
    pub fn profile(&self, user: UserId) -> Option<&UserProfile> {
        self.profiles.iter().find(|p| p.id == user)
    }
}

/// What composing one round of digests reads (R34), together on one connection: the messages,
/// their conversations with the kind of item each is on, and the people who receive or wrote them.
/// What no longer exists is left out.
#[derive(Debug, Clone, Default)]
pub struct DigestReads {
    pub messages: std::collections::HashMap<MessageId, Message>,
    pub conversations: std::collections::HashMap<ConversationId, (ConversationHeader, Option<ItemKind>)>,
    pub users: std::collections::HashMap<UserId, User>,
    pub customers: std::collections::HashMap<CustomerId, Customer>,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub author: Author,
    pub body: String,
    pub body_html: String,
    pub channel: Channel,
    pub created_at: i64,
    pub audience: Audience,
    /// R14: the email plan of each of `audience.recipients`, in order. The app decides it (see
    /// [`NewMessage::planned`]); the store only joins the due ones into bursts (R34).
    pub email_plans: Vec<EmailPlan>,
    /// R33: customers see it from then on.
    pub held_until: Option<i64>,
    /// People who start following the conversation with this message (mentioned users).
    pub new_followers: Vec<Party>,
    /// Files the author uploaded into the conversation for it; the post is refused
    /// (`Conflict("attachment")`, nothing written) unless each is theirs and on no message yet.
    pub attachments: Vec<AttachmentId>,
}

impl NewMessage {
    /// The message with the email plan of each recipient, in a conversation of `visibility`
    /// (R1: fixed when it was made, so the plan holds when the message is written), for an
    /// email delay of `delay_ms` (R14).
    pub fn planned(mut self, visibility: Visibility, delay_ms: i64) -> Self {
        self.email_plans = self
            .audience
            .recipients
            .iter()
            .map(|r| plan_email(r, self.author, visibility, self.created_at, delay_ms, self.held_until))
            .collect();
        self
    }
}

/// What linking an independent conversation does (R5).
#[derive(Debug, Clone)]
pub enum LinkTarget {
    Existing(ItemId),
    New(NewItem),
}

/// One conversation as the messenger lists it for one person, with the facts the access rule and
/// the views need.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    pub conversation: ConversationHeader,
    pub relation: Relation,
    pub started_by_me: bool,
    pub wrote_in: bool,
    pub addressed_to_me: bool,
    pub last_author: Option<AuthorKind>,
    pub last_seen_number: i64,
    /// Messages after the read position that the person may see.
    pub unread: i64,
}

/// One view's counts for one person, from their inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewTally {
    pub view: parley_domain::views::View,
    /// Conversations in the view.
    pub total: i64,
    /// Those with messages the person has not read.
    pub unread: i64,
}

/// A view's counts of one person as a write left them, announced after it committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TallyChange {
    pub party: Party,
    pub tally: ViewTally,
}

/// Where a page of a view ends: the activity time and id of its last conversation. The next page
/// holds what is strictly older, so posts arriving meanwhile neither repeat nor skip a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxCursor {
    pub activity_at: i64,
    pub conversation_id: ConversationId,
}

/// Which conversations of a view a page holds, by who is assigned to their item (R26–R27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxFilter {
    #[default]
    Everything,
    /// Conversations whose item this user is an assignee of.
    AssignedTo(UserId),
    /// Conversations with nobody assigned: on an item without assignees, or on no item at all.
    Unassigned,
}

/// What a list row shows of a conversation besides its header: the latest message the reader
/// may read, the customers it is with, the assignees of its item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDetail {
    pub conversation_id: ConversationId,
    pub last_message: Option<LastMessage>,
    /// Its customer participants, then its item's requesters, each once, by id.
    pub customers: Vec<(CustomerId, String)>,
    pub assignees: Vec<UserId>,
}

/// The latest message of a conversation that a reader may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    pub author: Author,
    pub body: String,
    pub created_at: i64,
}

/// A conversation in a page of a view, as the person sees it: its count and latest activity are of
/// the messages they may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub conversation: ConversationHeader,
    pub unread: i64,
}

/// The email work waiting, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailQueues {
    /// Messages waiting for their email to a recipient (due or not).
    pub jobs: i64,
    pub oldest_due_job: Option<i64>,
    /// Composed emails waiting to be sent or retried.
    pub outgoing: i64,
    pub oldest_due_outgoing: Option<i64>,
}

/// A message newly seen by someone (R13), for seen receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SeenReceipt {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub seen_at: i64,
    /// Whether seeing it now suppressed a pending email (R14); for monitoring, not shown.
    #[serde(skip, default)]
    pub email_suppressed: bool,
}

/// What happened to one message for one recipient (R35).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryRecord {
    pub party: Party,
    pub reasons: Vec<parley_domain::audience::Reason>,
    pub notify: bool,
    pub pushed_at: Option<i64>,
    pub seen_at: Option<i64>,
    pub email_state: parley_domain::delivery::EmailState,
    pub email_reason: Option<parley_domain::delivery::SuppressReason>,
    /// When the email was (or is) due.
    pub email_due_at: Option<i64>,
    /// When the email state last changed (queued, sent, failed, suppressed).
    pub email_at: Option<i64>,
    pub email_id: Option<OutgoingEmailId>,
    pub email_error: Option<String>,
}

/// An email's addressing and content: what is queued, and what a queued email carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct NewOutgoingEmail {
    pub created_at: i64,
    pub conversation_id: Option<ConversationId>,
    pub party: Option<Party>,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id_header: String,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    /// Stored as [`parley_domain::sealed::reply_address_slot`] when it carries a reply token.
    pub reply_to: Option<String>,
    /// R44: the one secret its slots hold ([`parley_domain::sealed::SECRET_SLOT`]), kept apart
    /// from what the log shows and forgotten once the email is settled. Never serialized.
    #[serde(skip)]
    pub secret: Option<String>,
}

impl NewOutgoingEmail {
    /// Whether the sender must fill in a secret before it leaves: a node that cannot (an older
    /// version, during a rolling deploy) never claims it (see [`SEALED_LEASE`]).
    pub fn sealed(&self) -> bool {
        self.secret.is_some() || self.reply_to.as_deref().is_some_and(|r| r.contains(parley_domain::sealed::TOKEN_SLOT))
    }
}

/// The lease of a sealed email is kept offset by this much: to a node of a version before sealed
/// emails it looks claimed for ever, so only nodes that fill slots in send one. Free, it is this
/// value; claimed until `t`, it is `SEALED_LEASE + t`.
pub const SEALED_LEASE: i64 = 1 << 62;

/// An email in the outgoing queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct OutgoingEmail {
    pub id: OutgoingEmailId,
    #[serde(flatten)]
    pub email: NewOutgoingEmail,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    /// A try began and its outcome was never recorded: the sender died during it.
    #[serde(skip)]
    pub in_doubt: bool,
}

/// Statements that cannot bind it spell it out (the migrations, the take-back).
#[test]
fn the_sealed_lease_is_the_number_statements_spell() {
    assert_eq!(SEALED_LEASE, 4_611_686_018_427_387_904);
}

impl OutgoingEmail {
    /// `email` as it stands when just queued: no try yet, due now.
    pub fn queued(id: OutgoingEmailId, email: NewOutgoingEmail) -> OutgoingEmail {
        OutgoingEmail {
            id,
            email,
            status: "queued".into(),
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
            sent_at: None,
            in_doubt: false,
        }
    }
}

/// One line of the outgoing email log (R32): an email, or a message someone was not emailed about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct OutgoingLogEntry {
    pub at: i64,
    /// `queued`, `sent`, `failed` or `suppressed`.
    pub status: String,
    /// Why it was suppressed, or the last error of a failed or retrying email.
    pub reason: Option<String>,
    pub party: Option<Party>,
    pub to_address: Option<String>,
    pub subject: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub email_id: Option<OutgoingEmailId>,
    pub message_id: Option<MessageId>,
    pub attempts: i64,
}

/// An editable email template (minijinja source).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Template {
    pub name: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub updated_at: i64,
}

/// Who is reading a conversation's messages, for what they may see of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Users see every message that was not withdrawn, held ones included.
    User,
    /// Customers see public messages released by `now` (R7, R33).
    Customer { now: i64 },
}

/// How a held message is taken back by its author within the send guard (R33).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retraction {
    /// It disappears for everyone.
    Undo,
    /// It stays, for users only.
    MakeInternal,
}

/// A code emailed to prove an address (R36), stored hashed.
#[derive(Debug, Clone)]
pub struct NewVerification {
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}
