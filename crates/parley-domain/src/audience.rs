//! Who receives a message, and why (R7–R10). This is the only place that decides it: the post path
//! stores the result with the message, and the recipient preview (R11) shows the same computation
//! for a draft.
//!
//! Receiving a message means it is addressed to the person (it counts for them, and it is theirs to
//! see). Whether they are *notified* — in the app, and by email when unseen — is decided by their
//! preferences (R22–R24) and carried as `notify` on each recipient.

use crate::access::{user_may_see, ConversationFacts, Relation};
use crate::entities::{UserProfile, Visibility};
use crate::ids::{CustomerId, ProjectId, UserId};
use crate::party::{Author, AuthorKind, Party};
use crate::preferences::MessageClass;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::ToSchema;

/// Why a person is in a message's audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Follows the linked item (or the linked project).
    ItemFollower,
    /// Asked for the linked item.
    Requester,
    /// Follows the conversation.
    ConversationFollower,
    /// Was added to the conversation as a participant.
    Participant,
    /// R41: wrote in the conversation.
    TakingPart,
    /// Was `@mentioned` in the message.
    Mention,
    /// R10: asks for all customer messages.
    AllCustomerMessages,
    /// R10: asks for all replies to customers.
    AllRepliesToCustomers,
    /// R42: the company routes a new customer conversation to everyone who may see it, and no
    /// one takes part yet.
    Routed,
    /// R42: nobody else would hear of a customer's message: an admin does.
    Fallback,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ItemFollower => "item_follower",
            Reason::Requester => "requester",
            Reason::ConversationFollower => "conversation_follower",
            Reason::Participant => "participant",
            Reason::TakingPart => "taking_part",
            Reason::Mention => "mention",
            Reason::AllCustomerMessages => "all_customer_messages",
            Reason::AllRepliesToCustomers => "all_replies_to_customers",
            Reason::Routed => "routed",
            Reason::Fallback => "fallback",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        [
            Reason::ItemFollower,
            Reason::Requester,
            Reason::ConversationFollower,
            Reason::Participant,
            Reason::TakingPart,
            Reason::Mention,
            Reason::AllCustomerMessages,
            Reason::AllRepliesToCustomers,
            Reason::Routed,
            Reason::Fallback,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Reasons that mean the person follows or takes part in the conversation (or was given it
    /// by routing, R42).
    fn is_following(self) -> bool {
        !matches!(self, Reason::AllCustomerMessages | Reason::AllRepliesToCustomers | Reason::Fallback)
    }

    /// Reasons that were checked against what the person may see before they were given.
    fn checked_by_scope(self) -> bool {
        matches!(self, Reason::AllCustomerMessages | Reason::AllRepliesToCustomers)
    }
}

/// Everything the rule needs to know about a conversation and a message being written.
#[derive(Debug, Clone)]
pub struct AudienceInput {
    pub visibility: Visibility,
    /// The conversation's project (of its item, or the linked project); `None` when independent.
    pub project_id: Option<ProjectId>,
    pub author: Author,
    /// Followers of the linked item (or the linked project's followers).
    pub item_followers: Vec<Party>,
    pub requesters: Vec<CustomerId>,
    pub conversation_followers: Vec<Party>,
    pub participants: Vec<Party>,
    /// R41: users who wrote in the conversation.
    pub taking_part: Vec<UserId>,
    /// Users `@mentioned` in the message, already resolved.
    pub mentioned: Vec<UserId>,
    /// R42: with routing "everyone", the users a customer's message goes to while no one takes
    /// part in the conversation or is assigned it (`routing::eligible`).
    pub routed: Vec<UserId>,
    /// R42: who hears of a customer's public message when no user in its audience would be
    /// notified: the admins.
    pub fallback: Vec<UserId>,
    /// Profiles of the users named above and of every user whose preferences ask for all
    /// customer messages or all replies to customers (R10). A user without a profile here is
    /// treated with default preferences, except one who only takes part: taking part grants no
    /// access (R41), so without a profile to check their scope against they receive nothing.
    pub profiles: Vec<UserProfile>,
}

/// One person who receives the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Recipient {
    pub party: Party,
    pub reasons: Vec<Reason>,
    /// Preferences allow notifying them (in the app and by email when unseen).
    pub notify: bool,
}

/// The computed audience, ordered by party.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Audience {
    pub recipients: Vec<Recipient>,
}

impl Audience {
    pub fn contains(&self, party: Party) -> bool {
        self.recipients.iter().any(|r| r.party == party)
    }

    pub fn get(&self, party: Party) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.party == party)
    }
}

/// The audience of a message (R7–R10), with each recipient's reasons and whether to notify them.
pub fn compute(input: &AudienceInput) -> Audience {
    let visibility = input.visibility;
    let facts = ConversationFacts { visibility, project_id: input.project_id };
    let author = input.author;
    let class = match (visibility, author.kind()) {
        (Visibility::Internal, _) => MessageClass::Internal,
        (Visibility::Public, AuthorKind::Customer) => MessageClass::FromCustomer,
        (Visibility::Public, AuthorKind::User | AuthorKind::Bot) => MessageClass::ReplyToCustomers,
    };

    let mut reasons: BTreeMap<Party, BTreeSet<Reason>> = BTreeMap::new();
    fn add(reasons: &mut BTreeMap<Party, BTreeSet<Reason>>, party: Party, reason: Reason) {
        reasons.entry(party).or_default().insert(reason);
    }
    let sources = [
        (&input.item_followers, Reason::ItemFollower),
        (&input.conversation_followers, Reason::ConversationFollower),
        (&input.participants, Reason::Participant),
    ];
    for (parties, reason) in sources {
        parties.iter().for_each(|p| add(&mut reasons, *p, reason));
    }
    input.taking_part.iter().for_each(|u| add(&mut reasons, Party::User(*u), Reason::TakingPart));
    input.requesters.iter().for_each(|c| add(&mut reasons, Party::Customer(*c), Reason::Requester));
    input.mentioned.iter().for_each(|u| add(&mut reasons, Party::User(*u), Reason::Mention));
    if class == MessageClass::FromCustomer {
        input.routed.iter().for_each(|u| add(&mut reasons, Party::User(*u), Reason::Routed));
    }

    // R10: users who ask for every public message of this class, within what they may see.
    let profiles: HashMap<UserId, &UserProfile> = input.profiles.iter().map(|p| (p.id, p)).collect();
    if visibility == Visibility::Public {
        let broad = match class {
            MessageClass::FromCustomer => Reason::AllCustomerMessages,
            _ => Reason::AllRepliesToCustomers,
        };
        for profile in &input.profiles {
            let party = Party::User(profile.id);
            let rel = relation_from(reasons.get(&party));
            if profile.preferences.wants_all(class)
                && user_may_see(profile.preferences.scope, &profile.followed_projects, facts, rel)
            {
                add(&mut reasons, party, broad);
            }
        }
    }

    let author_party = author.party();
    let recipients = reasons
        .into_iter()
        // R7: never a customer in an internal conversation.
        .filter(|(party, _)| !(visibility == Visibility::Internal && party.is_customer()))
        // R9: never the author.
        .filter(|(party, _)| Some(*party) != author_party)
        // A deactivated user receives nothing.
        .filter(|(party, _)| match party {
            Party::User(id) => profiles.get(id).is_none_or(|p| p.active),
            Party::Customer(_) => true,
        })
        // R41: taking part grants no access; one who only wrote here receives it while their
        // scope still shows them the conversation (R20, R37).
        .filter(|(party, reasons)| {
            let rel = relation_from(Some(reasons));
            let granted = rel.grants_access() || reasons.iter().any(|r| r.checked_by_scope());
            match party {
                Party::User(id) if !granted => profiles
                    .get(id)
                    .is_some_and(|p| user_may_see(p.preferences.scope, &p.followed_projects, facts, rel)),
                _ => true,
            }
        })
        .map(|(party, reasons)| {
            let follows = reasons.iter().any(|r| r.is_following());
            let notify = match party {
                Party::Customer(_) => true,
                Party::User(id) => match profiles.get(&id) {
                    Some(profile) => profile.preferences.wants(class, follows),
                    None => crate::Preferences::default().wants(class, follows),
                },
            };
            Recipient { party, reasons: reasons.into_iter().collect(), notify }
        })
        .collect::<Vec<_>>();
    let mut audience = Audience { recipients };
    // R42: a customer's message always reaches someone: when no user would be notified, the
    // admins who may see the conversation are, whatever their preferences.
    let heard = audience.recipients.iter().any(|r| !r.party.is_customer() && r.notify);
    if class == MessageClass::FromCustomer && !heard {
        for admin in &input.fallback {
            let sees = profiles.get(admin).is_some_and(|p| {
                p.active && user_may_see(p.preferences.scope, &p.followed_projects, facts, Relation::default())
            });
            let party = Party::User(*admin);
            if !sees || Some(party) == author_party {
                continue;
            }
            match audience.recipients.iter_mut().find(|r| r.party == party) {
                Some(r) => {
                    r.reasons.push(Reason::Fallback);
                    r.notify = true;
                }
                None => audience.recipients.push(Recipient { party, reasons: vec![Reason::Fallback], notify: true }),
            }
        }
        audience.recipients.sort_by_key(|r| r.party);
    }
    audience
}

fn relation_from(reasons: Option<&BTreeSet<Reason>>) -> Relation {
    let has = |r: Reason| reasons.is_some_and(|set| set.contains(&r));
    Relation {
        participant: has(Reason::Participant),
        conversation_follower: has(Reason::ConversationFollower) || has(Reason::Mention),
        item_follower: has(Reason::ItemFollower) || has(Reason::Requester),
        project_follower: false,
        taking_part: has(Reason::TakingPart),
    }
}
