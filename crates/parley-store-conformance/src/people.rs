//! People: the company, unique emails, audience profiles.

use crate::fixtures::*;
use parley_domain::preferences::{CustomerMessages, Scope};
use parley_domain::*;
use parley_store::*;

pub async fn company_is_created_once<S: Store>(store: &S) {
    assert!(store.company().await.unwrap().is_none());
    World::new(store).await;
    assert_eq!(store.company().await.unwrap().unwrap().name, "Acme");
    let again = store.create_company("Other", T0, new_user("other@acme.test", Role::Admin)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.company().await.unwrap().unwrap().name, "Acme");
}

pub async fn user_email_is_unique<S: Store>(store: &S) {
    World::new(store).await;
    let again = store.insert_user(new_user("mia@acme.test", Role::Member)).await;
    assert!(matches!(again, Err(StoreError::Conflict("email"))), "{again:?}");
    assert_eq!(store.users().await.unwrap().len(), 2);
}

/// One call returns the asked-for users and every user asking for all customer messages, each with
/// the projects they follow directly or through a team.
pub async fn audience_profiles_batch_includes_broad_preferences_and_team_projects<S: Store>(store: &S) {
    let w = World::new(store).await;
    let broad = store.insert_user(new_user("all@acme.test", Role::Member)).await.unwrap();
    let preferences = Preferences {
        customer_messages: CustomerMessages::All,
        scope: Scope::FollowedProjects,
        ..Preferences::default()
    };
    store.set_preferences(broad.id, &preferences).await.unwrap();
    let team = store.insert_team("Tier 2").await.unwrap();
    store.set_team_member(team.id, broad.id, true).await.unwrap();
    let other = store.insert_project("Billing", w.admin.id, T0).await.unwrap();
    store.set_project_role(other.id, ProjectRole::MemberTeam(team.id), true).await.unwrap();

    let profiles = store.audience_profiles(&[w.admin.id, UserId(9_999)]).await.unwrap();
    let ids: Vec<UserId> = profiles.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![w.admin.id, broad.id]);
    assert_eq!(profiles[0].followed_projects, vec![w.project.id, other.id]);
    assert_eq!(profiles[1].followed_projects, vec![other.id]);
    assert_eq!(profiles[1].preferences, preferences);
    assert!(store.audience_profiles(&[]).await.unwrap().iter().all(|p| p.id == broad.id));
}

/// Live-chat visitors are customers without an address; addresses stay unique when given.
pub async fn visitors_have_no_email_and_addresses_stay_unique<S: Store>(store: &S) {
    let w = World::new(store).await;
    let visitor = |name: &str| NewCustomer {
        email: None,
        name: name.into(),
        organization_id: None,
        password_hash: None,
        created_at: T0,
    };
    let a = store.insert_customer(visitor("Visitor A")).await.unwrap();
    let b = store.insert_customer(visitor("Visitor B")).await.unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(store.customer(a.id).await.unwrap().email, None);
    let taken = store.insert_customer(new_customer(w.customer.email.as_deref().unwrap())).await;
    assert!(matches!(taken, Err(StoreError::Conflict("email"))), "{taken:?}");
}

/// An API token finds its owner; its last use is recorded at most once a minute, and a revoked
/// token finds no one.
pub async fn api_token_use_is_recorded_at_most_once_a_minute<S: Store>(store: &S) {
    let w = World::new(store).await;
    let token = store.insert_api_token(w.member.id, "CI", "hash-of-ci", T0).await.unwrap();
    let last_used = || async { store.api_tokens(w.member.id).await.unwrap()[0].last_used_at };
    assert_eq!(last_used().await, None);
    assert_eq!(store.use_api_token("hash-of-ci", T0 + 1_000).await.unwrap(), w.member.id);
    assert_eq!(last_used().await, Some(T0 + 1_000));
    store.use_api_token("hash-of-ci", T0 + 30_000).await.unwrap();
    assert_eq!(last_used().await, Some(T0 + 1_000), "within the minute: not written again");
    store.use_api_token("hash-of-ci", T0 + 61_001).await.unwrap();
    assert_eq!(last_used().await, Some(T0 + 61_001));
    assert!(matches!(store.use_api_token("hash-of-other", T0).await, Err(StoreError::NotFound)));
    store.delete_api_token(w.member.id, token.id).await.unwrap();
    assert!(matches!(store.use_api_token("hash-of-ci", T0 + 90_000).await, Err(StoreError::NotFound)));
}

/// Deactivating a user deletes their sessions and API tokens at once (others' stay), marks them
/// inactive everywhere the rules read users, and keeps them from mentions; reactivating undoes it.
pub async fn a_deactivated_user_has_no_session_token_or_mention<S: Store>(store: &S) {
    let w = World::new(store).await;
    let session = |party| SessionRecord { party, expires_at: T0 + 3_600_000 };
    store.insert_session("mia-1", session(Party::User(w.member.id))).await.unwrap();
    store.insert_session("admin-1", session(Party::User(w.admin.id))).await.unwrap();
    store.insert_api_token(w.member.id, "CI", "hash-of-ci", T0).await.unwrap();

    let user = store.set_user_active(w.member.id, false, T0 + 1).await.unwrap();
    assert!(!user.active);
    assert!(matches!(store.session("mia-1").await, Err(StoreError::NotFound)));
    assert!(matches!(store.use_api_token("hash-of-ci", T0 + 2).await, Err(StoreError::NotFound)));
    assert_eq!(store.session("admin-1").await.unwrap().party, Party::User(w.admin.id), "others' sessions stay");
    assert!(!store.user(w.member.id).await.unwrap().active);
    assert!(!store.user_profile(w.member.id).await.unwrap().active);
    let profiles = store.audience_profiles(&[w.member.id, w.admin.id]).await.unwrap();
    let active: Vec<(UserId, bool)> = profiles.iter().map(|p| (p.id, p.active)).collect();
    assert_eq!(active, vec![(w.admin.id, true), (w.member.id, false)]);
    let handle = store.user(w.member.id).await.unwrap().handle;
    assert!(store.users_by_handle(std::slice::from_ref(&handle)).await.unwrap().is_empty());

    let user = store.set_user_active(w.member.id, true, T0 + 3).await.unwrap();
    assert!(user.active && store.user_profile(w.member.id).await.unwrap().active);
    assert_eq!(store.users_by_handle(&[handle]).await.unwrap().len(), 1);
    assert!(matches!(store.set_user_active(UserId(9_999), false, T0).await, Err(StoreError::NotFound)));
}
