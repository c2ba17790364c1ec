//! Password links, system email switches and project invitations.

use crate::fixtures::*;
use parley_domain::system_email::{InvitationState, PasswordLink, SystemEmail};
use parley_domain::*;
use parley_store::*;

fn link(hash: &str, party: Party, at: i64) -> NewPasswordLink {
    NewPasswordLink {
        token_hash: hash.into(),
        party,
        purpose: PasswordLink::Reset,
        created_at: at,
        expires_at: at + PasswordLink::Reset.lifetime_ms(),
    }
}

pub async fn r38_a_password_link_works_once_and_ends_every_session_and_token<S: Store>(store: &S) {
    let w = World::new(store).await;
    let mia = Party::User(w.member.id);
    store.insert_password_link(link("first", mia, T0)).await.unwrap();
    store.insert_password_link(link("second", mia, T0 + 1)).await.unwrap();
    store.insert_password_link(link("cora", Party::Customer(w.customer.id), T0)).await.unwrap();
    assert_eq!(store.password_links_since(mia, T0).await.unwrap(), 2);
    assert_eq!(store.password_links_since(mia, T0 + 1).await.unwrap(), 1);
    store.insert_session("mia-session", SessionRecord { party: mia, expires_at: T0 + DELAY }).await.unwrap();
    store.insert_api_token(w.member.id, "ci", "mia-token", T0).await.unwrap();

    assert!(matches!(store.set_password_by_link("unknown", "h", T0 + 2).await, Err(StoreError::NotFound)));
    assert_eq!(store.password_link_owner("first", T0 + 2).await.unwrap(), mia);
    assert!(matches!(store.password_link_owner("unknown", T0 + 2).await, Err(StoreError::NotFound)));
    assert_eq!(store.set_password_by_link("first", "new-hash", T0 + 2).await.unwrap(), mia);
    let email = EmailAddress::parse("email", &w.member.email).unwrap();
    assert_eq!(store.user_credentials(&email).await.unwrap().1, "new-hash");
    assert!(matches!(store.session("mia-session").await, Err(StoreError::NotFound)), "sessions end");
    assert!(matches!(store.use_api_token("mia-token", T0 + 2).await, Err(StoreError::NotFound)), "tokens end");
    assert!(matches!(store.set_password_by_link("first", "again", T0 + 3).await, Err(StoreError::NotFound)), "once");
    assert!(matches!(store.password_link_owner("second", T0 + 3).await, Err(StoreError::NotFound)), "spent");
    assert!(
        matches!(store.set_password_by_link("second", "other", T0 + 3).await, Err(StoreError::NotFound)),
        "others spent"
    );
    assert_eq!(store.user_credentials(&email).await.unwrap().1, "new-hash");

    let late = T0 + PasswordLink::Reset.lifetime_ms();
    assert!(matches!(store.set_password_by_link("cora", "h", late).await, Err(StoreError::NotFound)), "expired");
    assert_eq!(store.set_password_by_link("cora", "h", late - 1).await.unwrap(), Party::Customer(w.customer.id));
}

pub async fn r31_system_emails_are_on_until_turned_off<S: Store>(store: &S) {
    World::new(store).await;
    assert!(store.system_emails_off().await.unwrap().is_empty());
    store.set_system_email(SystemEmail::Welcome, false).await.unwrap();
    store.set_system_email(SystemEmail::AssignmentChange, false).await.unwrap();
    store.set_system_email(SystemEmail::AssignmentChange, true).await.unwrap();
    assert_eq!(store.system_emails_off().await.unwrap(), vec![SystemEmail::Welcome]);
}

pub async fn r25_an_invitation_is_answered_once_and_one_is_pending_at_a_time<S: Store>(store: &S) {
    let w = World::new(store).await;
    let new = |hash: &str, accepted: bool| NewInvitation {
        project: w.project.id,
        user: w.member.id,
        invited_by: w.admin.id,
        token_hash: hash.into(),
        created_at: T0,
        expires_at: T0 + DELAY,
        accepted,
    };
    let pending = store.insert_invitation(new("a", false)).await.unwrap();
    assert_eq!(
        (pending.state, pending.project_name.as_str(), pending.user_id, pending.invited_by),
        (InvitationState::Pending, "Support", w.member.id, w.admin.id)
    );
    assert!(matches!(store.insert_invitation(new("b", false)).await, Err(StoreError::Conflict("invitation"))));
    assert_eq!(store.pending_invitations(w.member.id).await.unwrap(), vec![pending.clone()]);
    assert!(store.pending_invitations(w.admin.id).await.unwrap().is_empty());
    assert_eq!(store.invitation_by_link("a", T0 + 1).await.unwrap().id, pending.id);
    assert!(matches!(store.invitation_by_link("a", T0 + DELAY).await, Err(StoreError::NotFound)), "expired");

    let declined = store.answer_invitation(pending.id, false, T0 + 2).await.unwrap();
    assert_eq!((declined.state, declined.answered_at), (InvitationState::Declined, Some(T0 + 2)));
    assert!(matches!(store.answer_invitation(pending.id, true, T0 + 3).await, Err(StoreError::NotFound)), "once");
    assert!(store.pending_invitations(w.member.id).await.unwrap().is_empty());

    let at_once = store.insert_invitation(new("c", true)).await.unwrap();
    assert_eq!(at_once.state, InvitationState::Accepted);
    let again = store.insert_invitation(new("d", false)).await.unwrap();
    assert_eq!(store.answer_invitation(again.id, true, T0 + 4).await.unwrap().state, InvitationState::Accepted);
    assert!(matches!(store.invitation(InvitationId(9_999)).await, Err(StoreError::NotFound)));
}
