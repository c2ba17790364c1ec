//! A small company to run behaviours against.

use parley_domain::audience::{Audience, Reason, Recipient};
use parley_domain::*;
use parley_store::*;

pub const T0: i64 = 1_700_000_000_000;
/// The email delay the fixtures post with.
pub const DELAY: i64 = 60_000;

/// A company with an admin, a member, a customer, a project and a ticket the customer asked for.
pub struct World {
    pub admin: User,
    pub member: User,
    pub customer: Customer,
    pub project: Project,
    pub ticket: Item,
}

impl World {
    pub async fn new<S: Store>(store: &S) -> World {
        let admin = store.create_company("Acme", T0, new_user("admin@acme.test", Role::Admin)).await.unwrap();
        let member = store.insert_user(new_user("mia@acme.test", Role::Member)).await.unwrap();
        let customer = store.insert_customer(new_customer("cora@client.test")).await.unwrap();
        let project = store.insert_project("Support", admin.id, T0).await.unwrap();
        let ticket = store
            .insert_item(NewItem {
                project_id: project.id,
                kind: ItemKind::Ticket,
                title: "Printer on fire".into(),
                created_by: Party::User(admin.id),
                requesters: vec![customer.id],
                assignees: vec![member.id],
                created_at: T0,
            })
            .await
            .unwrap();
        World { admin, member, customer, project, ticket }
    }

    /// A conversation started by the admin.
    pub async fn conversation<S: Store>(
        &self,
        store: &S,
        visibility: Visibility,
        link: Option<Link>,
        participants: Vec<Party>,
    ) -> Conversation {
        store
            .insert_conversation(NewConversation {
                subject: "Hello".into(),
                visibility,
                link,
                created_by: Author::User(self.admin.id),
                participants,
                followers: vec![Party::User(self.admin.id)],
                created_at: T0,
            })
            .await
            .unwrap()
    }
}

pub fn new_user(email: &str, role: Role) -> NewUser {
    let email = EmailAddress::parse("email", email).unwrap();
    NewUser {
        handle: email.handle_hint(),
        email,
        name: "Someone".into(),
        role,
        password_hash: "not-a-real-hash".into(),
        preferences: Preferences::default(),
        created_at: T0,
    }
}

pub fn new_customer(email: &str) -> NewCustomer {
    NewCustomer {
        email: Some(EmailAddress::parse("email", email).unwrap()),
        name: "Customer".into(),
        organization_id: None,
        password_hash: None,
        created_at: T0,
    }
}

/// A message to `conversation` by `author`, addressed to `to` as participants.
pub fn new_message(conversation: &Conversation, author: Author, to: &[Party], at: i64) -> NewMessage {
    NewMessage {
        conversation_id: conversation.header.id,
        author,
        body: "Hi".into(),
        body_html: "<p>Hi</p>".into(),
        channel: Channel::App,
        created_at: at,
        email_plans: Vec::new(),
        held_until: None,
        audience: Audience {
            recipients: to
                .iter()
                .map(|p| Recipient { party: *p, reasons: vec![Reason::Participant], notify: true })
                .collect(),
        },
        new_followers: Vec::new(),
        attachments: Vec::new(),
    }
    .planned(conversation.header.visibility, DELAY)
}

/// A reply by `author` held by the send guard for 10 s (R33).
pub fn held_message(conversation: &Conversation, author: Author, to: &[Party], at: i64) -> NewMessage {
    NewMessage { held_until: Some(at + 10_000), ..new_message(conversation, author, to, at) }
        .planned(conversation.header.visibility, DELAY)
}
