//! The things Parley keeps: people, projects, items, conversations and messages, as plain data.

use crate::ids::*;
use crate::party::{Author, Party};
use crate::preferences::Preferences;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares a closed set of names stored and sent as snake_case strings.
macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(
    /// A user's role: admins manage the company, users and settings.
    Role { Admin => "admin", Member => "member" }
);
str_enum!(
    /// R1: public ("customer replies") or internal ("internal messages"), fixed at creation.
    Visibility { Public => "public", Internal => "internal" }
);
str_enum!(
    /// R6: open → closed → locked.
    ConversationState { Open => "open", Closed => "closed", Locked => "locked" }
);
str_enum!(
    /// The kinds of work item.
    ItemKind { Ticket => "ticket", Task => "task", Article => "article" }
);
impl ItemKind {
    /// How people name an item of this kind, as in "Ticket #12".
    pub fn title(self) -> &'static str {
        match self {
            ItemKind::Ticket => "Ticket",
            ItemKind::Task => "Task",
            ItemKind::Article => "Article",
        }
    }
}
str_enum!(
    /// An item's status.
    ItemStatus { Open => "open", InProgress => "in_progress", Closed => "closed" }
);
str_enum!(
    /// Where a message was written.
    Channel {
        App => "app", Api => "api", Widget => "widget", Portal => "portal",
        Email => "email", Automation => "automation"
    }
);

/// Company-wide settings an admin can change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompanySettings {
    /// R3: visibility of a new conversation on an item.
    pub item_default_visibility: Visibility,
    /// R3: visibility of a new conversation on a project.
    pub project_default_visibility: Visibility,
    /// R18: when set, a new request by email also opens a ticket in this project (its
    /// conversation hangs off the ticket); when not, it is an independent conversation.
    pub email_ticket_project_id: Option<ProjectId>,
    /// The project in which a customer's new request from the portal opens a ticket; `None`: the
    /// portal takes no new requests (customers write by email or chat).
    pub portal_request_project_id: Option<ProjectId>,
    /// The name every user goes by to customers ("ACME Support"); `None`: each by their own name.
    pub staff_display_name: Option<String>,
    /// What the live-chat widget says before the visitor's first message.
    pub widget_greeting: String,
    /// The reply time the widget promises ("We usually reply within a few minutes"); may be empty.
    pub widget_reply_time: String,
    /// R33: how long a reply is held in a chat (a conversation begun in the widget), in ms;
    /// `None`: the deployment's default (see `delivery::send_guard_ms`).
    #[serde(default)]
    pub chat_send_guard_ms: Option<i64>,
    /// R33: how long a reply is held in every other conversation, in ms; `None`: the
    /// deployment's default.
    #[serde(default)]
    pub send_guard_ms: Option<i64>,
    /// R42: how a new conversation from a customer finds its people.
    #[serde(default)]
    pub routing: crate::routing::Routing,
    /// R42: open conversations a user is assigned before round-robin passes them by.
    #[serde(default = "default_routing_cap")]
    pub routing_cap: i64,
}

fn default_routing_cap() -> i64 {
    crate::routing::DEFAULT_CAP
}

impl CompanySettings {
    /// R33: the send guards an admin set.
    pub fn send_guards(&self) -> SendGuards {
        SendGuards { chat_ms: self.chat_send_guard_ms, other_ms: self.send_guard_ms }
    }
}

/// R33: the send guards a company set, per kind of conversation; `None` where it did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendGuards {
    pub chat_ms: Option<i64>,
    pub other_ms: Option<i64>,
}

/// The widget's greeting until an admin writes their own.
pub const DEFAULT_WIDGET_GREETING: &str = "Hi! Ask us anything — we are here to help.";
/// The widget's expected reply time until an admin sets their own.
pub const DEFAULT_WIDGET_REPLY_TIME: &str = "We usually reply within a few minutes.";

impl Default for CompanySettings {
    fn default() -> Self {
        CompanySettings {
            item_default_visibility: Visibility::Public,
            project_default_visibility: Visibility::Public,
            email_ticket_project_id: None,
            portal_request_project_id: None,
            staff_display_name: None,
            widget_greeting: DEFAULT_WIDGET_GREETING.into(),
            widget_reply_time: DEFAULT_WIDGET_REPLY_TIME.into(),
            chat_send_guard_ms: None,
            send_guard_ms: None,
            routing: crate::routing::Routing::RoundRobin,
            routing_cap: crate::routing::DEFAULT_CAP,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Company {
    pub name: String,
    #[serde(flatten)]
    pub settings: CompanySettings,
    pub created_at: i64,
    /// R33: how long replies are held now, the deployment's default filling what the company
    /// did not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_guards_in_effect: Option<SendGuardsInEffect>,
}

/// R33: the send guards in effect, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SendGuardsInEffect {
    /// In a chat (a conversation begun in the widget).
    pub chat_ms: i64,
    /// In every other conversation.
    pub other_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// What others type after `@` to mention this user.
    pub handle: String,
    pub role: Role,
    pub created_at: i64,
    /// `false` once an admin deactivated the user: they cannot log in, receive nothing, and cannot
    /// be mentioned, assigned or added anywhere until reactivated.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// R42: set "away" by the user: new conversations are not routed to them, and colleagues
    /// see it.
    #[serde(default)]
    pub away: bool,
    /// R42: when a node last said the user was connected; with `away`, whether they are
    /// available (`routing::available`).
    #[serde(default, skip_serializing)]
    pub connected_at: Option<i64>,
    /// R42: connected and not away, as colleagues are shown it (filled in where users are
    /// listed).
    #[serde(default)]
    pub available: bool,
}

fn active_by_default() -> bool {
    true
}

/// A user with the settings the rules need: preferences and the projects they follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub id: UserId,
    /// A deactivated user is in no audience.
    #[serde(default = "active_by_default")]
    pub active: bool,
    pub preferences: Preferences,
    /// Projects the user is a member or follower of (directly or through a team).
    pub followed_projects: Vec<ProjectId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub members: Vec<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    /// New customers whose email is at this domain join the organization.
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    /// The verified address (R36): given by staff, or proven by its owner. `None` for a live-chat
    /// visitor who has not proven one. Logins, matching and organizations go by this one only.
    pub email: Option<String>,
    /// An address a visitor gave and has not proven yet. Replies they miss are emailed to it, and
    /// nothing else: it matches no customer and joins no organization.
    pub unverified_email: Option<String>,
    pub name: String,
    pub organization_id: Option<OrganizationId>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub created_at: i64,
    pub member_users: Vec<UserId>,
    pub member_teams: Vec<TeamId>,
    pub follower_users: Vec<UserId>,
    pub follower_customers: Vec<CustomerId>,
    pub follower_organizations: Vec<OrganizationId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Item {
    pub id: ItemId,
    pub project_id: ProjectId,
    pub kind: ItemKind,
    pub title: String,
    pub status: ItemStatus,
    /// A user, or a customer whose mail to the support address opened it (R18).
    pub created_by: Party,
    pub created_at: i64,
    pub requesters: Vec<CustomerId>,
    pub assignees: Vec<UserId>,
    pub followers: Vec<Party>,
}

/// What a conversation hangs off (R2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Link {
    Item(ItemId),
    Project(ProjectId),
}

/// A conversation without its people: what lists of conversations show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationHeader {
    pub id: ConversationId,
    pub subject: String,
    pub visibility: Visibility,
    pub state: ConversationState,
    /// `None` for an independent conversation.
    pub link: Option<Link>,
    /// The project the conversation belongs to (its item's, or the linked project), for scopes.
    pub project_id: Option<ProjectId>,
    pub created_by: Author,
    pub created_at: i64,
    pub last_activity_at: i64,
    pub message_count: i64,
    /// R33: where it began (the channel of its first message); `None` before its first message.
    #[serde(default)]
    pub origin: Option<Channel>,
}

/// A conversation with its participants and followers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    #[serde(flatten)]
    pub header: ConversationHeader,
    pub participants: Vec<Party>,
    pub followers: Vec<Party>,
    /// R41: users who wrote in it. They count it among their conversations; it grants no access.
    #[serde(default)]
    pub taking_part: Vec<UserId>,
    /// R42: who is assigned it: of an independent conversation its own, of a linked one its
    /// item's.
    #[serde(default)]
    pub assignees: Vec<UserId>,
}

/// A conversation's state changed (R6): to what, by whom, when. A message that reopened a
/// closed conversation is recorded with its author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateChange {
    pub state: ConversationState,
    pub by: Author,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    /// 1, 2, 3… within the conversation.
    pub number: i64,
    pub author: Author,
    pub visibility: Visibility,
    pub body: String,
    /// `body` rendered from Markdown and sanitized.
    pub body_html: String,
    pub channel: Channel,
    pub created_at: i64,
    /// R33: until then no customer sees it and its author may undo it; users see it as "sending".
    pub held_until: Option<i64>,
    /// Its files, in the order they were uploaded.
    #[serde(default)]
    pub attachments: Vec<crate::attachment::Attachment>,
}
