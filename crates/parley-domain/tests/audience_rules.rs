//! R7–R10: the audience rule, by example and by property over random conversations.
#![allow(clippy::field_reassign_with_default)]

use parley_domain::audience::{compute, AudienceInput, Reason};
use parley_domain::preferences::{CustomerMessages, RepliesToCustomers, Scope};
use parley_domain::*;
use proptest::prelude::*;

const ANA: UserId = UserId(1);
const BO: UserId = UserId(2);
const CY: UserId = UserId(3);
const CARLA: CustomerId = CustomerId(10);
const DAN: CustomerId = CustomerId(11);
const P1: ProjectId = ProjectId(1);

fn input(visibility: Visibility, author: Author) -> AudienceInput {
    AudienceInput {
        visibility,
        project_id: Some(P1),
        author,
        item_followers: vec![Party::User(ANA), Party::Customer(CARLA)],
        requesters: vec![DAN],
        conversation_followers: vec![Party::User(BO)],
        participants: vec![],
        taking_part: vec![],
        mentioned: vec![],
        routed: vec![],
        fallback: vec![],
        profiles: vec![],
    }
}

fn profile(id: UserId, preferences: Preferences) -> UserProfile {
    UserProfile { id, active: true, preferences, followed_projects: vec![] }
}

#[test]
fn a_deactivated_user_receives_nothing_whatever_their_relation_or_preferences() {
    let everything = Preferences {
        customer_messages: CustomerMessages::All,
        replies_to_customers: RepliesToCustomers::All,
        ..Preferences::default()
    };
    for visibility in Visibility::ALL.iter().copied() {
        let mut i = input(visibility, Author::Customer(CARLA));
        i.mentioned.push(BO);
        i.participants.push(Party::User(ANA));
        i.profiles = vec![
            UserProfile { active: false, ..profile(ANA, everything.clone()) },
            UserProfile { active: false, ..profile(BO, everything.clone()) },
            profile(CY, everything.clone()),
        ];
        let a = compute(&i);
        assert!(!a.contains(Party::User(ANA)) && !a.contains(Party::User(BO)), "{visibility:?}: {a:?}");
        if visibility == Visibility::Public {
            assert!(a.contains(Party::User(CY)), "an active user asking for everything still gets it");
        }
    }
}

#[test]
fn r41_a_customers_follow_up_reaches_the_user_who_answered_on_default_preferences() {
    // A live chat: independent, public, the visitor its participant; Ana answered once.
    let mut i = input(Visibility::Public, Author::Customer(CARLA));
    (i.project_id, i.item_followers, i.requesters, i.conversation_followers) = (None, vec![], vec![], vec![]);
    i.participants = vec![Party::Customer(CARLA)];
    i.taking_part = vec![ANA];
    i.profiles = vec![profile(ANA, Preferences::default())];
    let a = compute(&i);
    let ana = a.get(Party::User(ANA)).expect("the user who answered receives the follow-up");
    assert_eq!(ana.reasons, vec![Reason::TakingPart]);
    assert!(ana.notify, "\"only from my conversations\" counts what they took part in");
    // Without taking part, the default preferences hear nothing of it.
    i.taking_part.clear();
    assert!(!compute(&i).contains(Party::User(ANA)));
}

#[test]
fn r41_taking_part_grants_no_access_a_narrowed_scope_removes_it() {
    let mut i = input(Visibility::Internal, Author::User(BO));
    i.item_followers.clear();
    i.taking_part = vec![ANA];
    let narrowed = Preferences { scope: Scope::FollowedProjects, ..Preferences::default() };
    i.profiles = vec![profile(ANA, narrowed.clone())];
    assert!(!compute(&i).contains(Party::User(ANA)), "outside the scope: gone like any other");
    i.profiles = vec![UserProfile { followed_projects: vec![P1], ..profile(ANA, narrowed) }];
    assert!(compute(&i).contains(Party::User(ANA)), "back in scope");
    i.profiles.clear();
    assert!(!compute(&i).contains(Party::User(ANA)), "no profile to check the scope against: nothing");
    // Added some other way, the scope does not matter (someone with access put them there).
    i.conversation_followers.push(Party::User(ANA));
    assert!(compute(&i).contains(Party::User(ANA)));
}

#[test]
fn r42_a_new_chat_reaches_the_admins_when_nobody_else_would_hear_of_it() {
    // A visitor's first message: nobody follows, takes part or asks for everything.
    let mut i = input(Visibility::Public, Author::Customer(CARLA));
    (i.project_id, i.item_followers, i.requesters, i.conversation_followers) = (None, vec![], vec![], vec![]);
    i.participants = vec![Party::Customer(CARLA)];
    let quiet = Preferences { customer_messages: CustomerMessages::None, ..Preferences::default() };
    i.profiles = vec![profile(ANA, quiet), profile(BO, Preferences::default())];
    i.fallback = vec![ANA];
    let a = compute(&i);
    let ana = a.get(Party::User(ANA)).expect("the admin hears of it");
    assert_eq!((ana.reasons.clone(), ana.notify), (vec![Reason::Fallback], true), "whatever their preferences");
    // Someone asking for all customer messages comes first: then the admins are left alone.
    i.profiles.push(profile(CY, Preferences { customer_messages: CustomerMessages::All, ..Preferences::default() }));
    let a = compute(&i);
    assert!(a.contains(Party::User(CY)) && !a.contains(Party::User(ANA)), "{a:?}");
    // Never for a reply or an internal message.
    let mut reply = i.clone();
    reply.author = Author::User(BO);
    reply.profiles.pop();
    assert!(!compute(&reply).contains(Party::User(ANA)));
}

#[test]
fn r42_routing_everyone_gives_a_customers_message_to_those_routed_notified_as_their_own() {
    let mut i = input(Visibility::Public, Author::Customer(CARLA));
    (i.project_id, i.item_followers, i.requesters, i.conversation_followers) = (None, vec![], vec![], vec![]);
    i.routed = vec![ANA, BO];
    let narrowed = Preferences { scope: Scope::FollowedProjects, ..Preferences::default() };
    i.profiles = vec![profile(ANA, Preferences::default()), profile(BO, narrowed)];
    let a = compute(&i);
    assert_eq!(a.get(Party::User(ANA)).map(|r| (r.reasons.clone(), r.notify)), Some((vec![Reason::Routed], true)));
    assert!(!a.contains(Party::User(BO)), "routing grants no access: the scope still decides");
    i.author = Author::User(CY);
    assert!(!compute(&i).contains(Party::User(ANA)), "only customers' messages are routed");
}

#[test]
fn r7_internal_message_reaches_the_users_only() {
    let a = compute(&input(Visibility::Internal, Author::User(ANA)));
    let parties: Vec<Party> = a.recipients.iter().map(|r| r.party).collect();
    assert_eq!(parties, vec![Party::User(BO)]);
}

#[test]
fn r7_customer_participant_of_internal_conversation_is_still_excluded() {
    let mut i = input(Visibility::Internal, Author::Bot);
    i.participants.push(Party::Customer(DAN));
    assert!(compute(&i).recipients.iter().all(|r| !r.party.is_customer()));
}

#[test]
fn r8_public_message_reaches_followers_requesters_and_participants() {
    let mut i = input(Visibility::Public, Author::User(CY));
    i.participants.push(Party::User(CY));
    let a = compute(&i);
    assert!(a.contains(Party::User(ANA)) && a.contains(Party::User(BO)));
    assert!(a.contains(Party::Customer(CARLA)));
    assert_eq!(a.get(Party::Customer(DAN)).map(|r| r.reasons.clone()), Some(vec![Reason::Requester]));
}

#[test]
fn r9_author_is_never_in_the_audience() {
    for v in Visibility::ALL {
        let a = compute(&input(*v, Author::User(ANA)));
        assert!(!a.contains(Party::User(ANA)));
    }
    let a = compute(&input(Visibility::Public, Author::Customer(CARLA)));
    assert!(!a.contains(Party::Customer(CARLA)));
}

#[test]
fn r10_all_customer_messages_adds_unfollowed_users_in_scope() {
    let mut i = input(Visibility::Public, Author::Customer(CARLA));
    let mut wants_all = Preferences::default();
    wants_all.customer_messages = CustomerMessages::All;
    i.profiles = vec![profile(CY, wants_all.clone())];
    let a = compute(&i);
    assert_eq!(a.get(Party::User(CY)).map(|r| r.reasons.clone()), Some(vec![Reason::AllCustomerMessages]));
    assert!(a.get(Party::User(CY)).is_some_and(|r| r.notify));

    // Not for a reply by a user, and not outside the user's scope.
    let mut reply = i.clone();
    reply.author = Author::User(ANA);
    assert!(!compute(&reply).contains(Party::User(CY)));
    wants_all.scope = Scope::FollowedProjects;
    i.profiles = vec![profile(CY, wants_all)];
    assert!(!compute(&i).contains(Party::User(CY)));
}

#[test]
fn r10_all_replies_to_customers_adds_unfollowed_users_but_never_for_internal() {
    let mut prefs = Preferences::default();
    prefs.replies_to_customers = RepliesToCustomers::All;
    let mut i = input(Visibility::Public, Author::User(ANA));
    i.profiles = vec![profile(CY, prefs)];
    assert!(compute(&i).contains(Party::User(CY)));
    i.visibility = Visibility::Internal;
    assert!(!compute(&i).contains(Party::User(CY)));
}

#[test]
fn r10_mention_reaches_the_mentioned_user() {
    let mut i = input(Visibility::Internal, Author::User(ANA));
    i.mentioned = vec![CY];
    let a = compute(&i);
    assert_eq!(a.get(Party::User(CY)).map(|r| r.reasons.clone()), Some(vec![Reason::Mention]));
}

#[test]
fn r22_follower_with_customer_messages_none_receives_but_is_not_notified() {
    let mut i = input(Visibility::Public, Author::Customer(CARLA));
    let mut quiet = Preferences::default();
    quiet.customer_messages = CustomerMessages::None;
    i.profiles = vec![profile(ANA, quiet)];
    let r = compute(&i).get(Party::User(ANA)).cloned();
    assert!(r.is_some_and(|r| !r.notify));
}

#[test]
fn r24_internal_notification_follows_the_preference() {
    let mut i = input(Visibility::Internal, Author::User(ANA));
    let mut off = Preferences::default();
    off.followed_internal = false;
    i.profiles = vec![profile(BO, off)];
    assert!(compute(&i).get(Party::User(BO)).is_some_and(|r| !r.notify));
}

// ---- properties over random companies ----

fn party() -> impl Strategy<Value = Party> {
    prop_oneof![(1i64..8).prop_map(|i| Party::User(UserId(i))), (1i64..8).prop_map(|i| Party::Customer(CustomerId(i))),]
}

fn preferences() -> impl Strategy<Value = Preferences> {
    (
        prop::sample::select(Scope::ALL.to_vec()),
        prop::sample::select(CustomerMessages::ALL.to_vec()),
        prop::sample::select(RepliesToCustomers::ALL.to_vec()),
        any::<bool>(),
    )
        .prop_map(|(scope, customer_messages, replies_to_customers, followed_internal)| Preferences {
            scope,
            customer_messages,
            replies_to_customers,
            followed_internal,
            ..Preferences::default()
        })
}

fn audience_input() -> impl Strategy<Value = AudienceInput> {
    (
        prop::sample::select(Visibility::ALL.to_vec()),
        prop::option::of((1i64..4).prop_map(ProjectId)),
        prop_oneof![party().prop_map(Author::from), Just(Author::Bot)],
        prop::collection::vec(party(), 0..20),
        prop::collection::vec((1i64..8).prop_map(CustomerId), 0..4),
        prop::collection::vec(party(), 0..20),
        prop::collection::vec(party(), 0..6),
        prop::collection::vec((1i64..8).prop_map(UserId), 0..4),
        prop::collection::vec((1i64..8).prop_map(UserId), 0..3),
        prop::collection::vec(
            ((1i64..8).prop_map(UserId), (preferences(), prop::collection::vec((1i64..4).prop_map(ProjectId), 0..3))),
            0..8,
        ),
    )
        .prop_map(
            |(
                visibility,
                project_id,
                author,
                item_followers,
                requesters,
                conversation_followers,
                participants,
                taking_part,
                mentioned,
                profiles,
            )| {
                AudienceInput {
                    visibility,
                    project_id,
                    author,
                    item_followers,
                    requesters,
                    conversation_followers,
                    participants,
                    taking_part,
                    mentioned,
                    routed: vec![],
                    fallback: vec![],
                    // One profile per user, as the store reads them.
                    profiles: profiles
                        .into_iter()
                        .collect::<std::collections::BTreeMap<UserId, _>>()
                        .into_iter()
                        .map(|(id, (preferences, followed_projects))| (id, preferences, followed_projects))
                        .map(|(id, preferences, followed_projects)| UserProfile {
                            id,
                            active: true,
                            preferences,
                            followed_projects,
                        })
                        .collect(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn r7_no_customer_ever_in_the_audience_of_an_internal_message(i in audience_input()) {
        let a = compute(&i);
        if i.visibility == Visibility::Internal {
            prop_assert!(a.recipients.iter().all(|r| !r.party.is_customer()));
        }
    }

    #[test]
    fn r9_the_author_never_is(i in audience_input()) {
        if let Some(author) = i.author.party() {
            prop_assert!(!compute(&i).contains(author));
        }
    }

    #[test]
    fn r8_every_follower_requester_and_participant_of_a_public_conversation_is(i in audience_input()) {
        let i = AudienceInput { visibility: Visibility::Public, ..i };
        let a = compute(&i);
        let expected = i.item_followers.iter()
            .chain(&i.conversation_followers)
            .chain(&i.participants)
            .copied()
            .chain(i.requesters.iter().map(|c| Party::Customer(*c)))
            .chain(i.mentioned.iter().map(|u| Party::User(*u)));
        for p in expected {
            if Some(p) != i.author.party() {
                prop_assert!(a.contains(p), "{p:?} missing");
            }
        }
    }

    #[test]
    fn r7_r8_audience_is_exactly_the_named_people_plus_r10_users(i in audience_input()) {
        let a = compute(&i);
        for r in &a.recipients {
            let named = i.item_followers.contains(&r.party)
                || i.conversation_followers.contains(&r.party)
                || i.participants.contains(&r.party)
                || matches!(r.party, Party::User(u) if i.taking_part.contains(&u))
                || matches!(r.party, Party::Customer(c) if i.requesters.contains(&c))
                || matches!(r.party, Party::User(u) if i.mentioned.contains(&u));
            let broad = r.reasons.iter().any(|x| matches!(x, Reason::AllCustomerMessages | Reason::AllRepliesToCustomers));
            prop_assert!(named || (broad && i.visibility == Visibility::Public), "{r:?}");
        }
    }

    #[test]
    fn r41_one_who_only_takes_part_receives_exactly_while_their_scope_shows_the_conversation(i in audience_input()) {
        let a = compute(&i);
        for u in &i.taking_part {
            let party = Party::User(*u);
            let named_otherwise = i.item_followers.contains(&party)
                || i.conversation_followers.contains(&party)
                || i.participants.contains(&party)
                || i.mentioned.contains(u);
            if named_otherwise || Some(party) == i.author.party() {
                continue;
            }
            let profile = i.profiles.iter().find(|p| p.id == *u);
            let facts = parley_domain::access::ConversationFacts { visibility: i.visibility, project_id: i.project_id };
            let sees = profile.is_some_and(|p| parley_domain::access::user_may_see(
                p.preferences.scope, &p.followed_projects, facts, Default::default()));
            prop_assert_eq!(a.contains(party), sees, "{:?}", party);
        }
    }
}
