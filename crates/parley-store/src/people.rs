//! The company, users, teams, customers, organizations, sessions and API tokens.

use crate::error::StoreResult;
use crate::records::*;
use async_trait::async_trait;
use parley_domain::*;

#[async_trait]
pub trait PeopleStore {
    async fn company(&self) -> StoreResult<Option<Company>>;
    /// Creates the company and its first admin together, once.
    async fn create_company(&self, name: &str, created_at: i64, admin: NewUser) -> StoreResult<User>;
    async fn update_company(&self, name: Option<&str>, settings: CompanySettings) -> StoreResult<Company>;

    async fn insert_user(&self, user: NewUser) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<User>;
    /// The user and their password hash.
    async fn user_credentials(&self, email: &EmailAddress) -> StoreResult<(User, String)>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn update_user(&self, id: UserId, name: Option<&str>, role: Option<Role>) -> StoreResult<User>;
    /// Deactivates (`active: false`, from `now` unless already) or reactivates a user. Deactivating
    /// deletes every session and API token of theirs in the same transaction.
    async fn set_user_active(&self, id: UserId, active: bool, now: i64) -> StoreResult<User>;
    /// R42: the user set (or cleared) "away".
    async fn set_away(&self, id: UserId, away: bool) -> StoreResult<User>;
    /// R42: these users are connected to this node at `at`; `None`: their connections here closed.
    async fn mark_connected(&self, users: &[UserId], at: Option<i64>) -> StoreResult<()>;
    async fn handle_taken(&self, handle: &str) -> StoreResult<bool>;
    async fn users_by_handle(&self, handles: &[String]) -> StoreResult<Vec<User>>;
    async fn preferences(&self, id: UserId) -> StoreResult<Preferences>;
    async fn set_preferences(&self, id: UserId, preferences: &Preferences) -> StoreResult<()>;
    /// Profiles of `ids`, plus of every user who asks for all customer messages or all replies
    /// to customers (R10).
    async fn audience_profiles(&self, ids: &[UserId]) -> StoreResult<Vec<UserProfile>>;
    async fn user_profile(&self, id: UserId) -> StoreResult<UserProfile>;

    async fn insert_team(&self, name: &str) -> StoreResult<Team>;
    async fn teams(&self) -> StoreResult<Vec<Team>>;
    async fn team(&self, id: TeamId) -> StoreResult<Team>;
    async fn set_team_member(&self, team: TeamId, user: UserId, member: bool) -> StoreResult<Team>;

    async fn insert_organization(&self, name: &str, domain: &str) -> StoreResult<Organization>;
    async fn organizations(&self) -> StoreResult<Vec<Organization>>;
    async fn organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>>;

    async fn insert_customer(&self, customer: NewCustomer) -> StoreResult<Customer>;
    async fn customer(&self, id: CustomerId) -> StoreResult<Customer>;
    /// The customer and their password hash, if they have one.
    async fn customer_credentials(&self, email: &EmailAddress) -> StoreResult<(Customer, Option<String>)>;
    /// A page of customers ordered by name then id: those after `after` (a name and id), whose
    /// name or address contains `search` (case-insensitive), within `reach` when given, at most
    /// `limit`.
    async fn customers_page(
        &self,
        search: Option<&str>,
        after: Option<(&str, CustomerId)>,
        reach: Option<CustomerReach<'_>>,
        limit: i64,
    ) -> StoreResult<Vec<Customer>>;
    /// Which of `customers` lie within `reach`.
    async fn customers_within(
        &self,
        reach: CustomerReach<'_>,
        customers: &[CustomerId],
    ) -> StoreResult<Vec<CustomerId>>;
    /// R36: a visitor (a customer without a verified address) gives an address. It is kept as
    /// their unverified address (replacing an earlier unverified one), with their name, and
    /// `verification` (a code to prove it) is stored. `Conflict("contact")` when the customer has a
    /// verified address already. Nothing is matched or joined.
    async fn set_unverified_contact(
        &self,
        id: CustomerId,
        email: &EmailAddress,
        name: Option<&str>,
        verification: NewVerification,
    ) -> StoreResult<Customer>;
    /// How many verification codes were made for `customer` since `since`.
    async fn verifications_since(&self, customer: CustomerId, since: i64) -> StoreResult<i64>;
    /// Tries a verification code: counts the try on the customer's latest unused, unexpired
    /// verification, and answers the address it proves when `code_hash` matches and no more than
    /// `max_attempts` tries were made; the code is then used up. `NotFound` otherwise.
    async fn use_verification_code(
        &self,
        customer: CustomerId,
        code_hash: &str,
        now: i64,
        max_attempts: i64,
    ) -> StoreResult<EmailAddress>;
    /// R36: `visitor` proved `email`. When a customer has that address already, the visitor's chat
    /// moves to them — conversations, messages, read positions and deliveries — and the visitor's
    /// sessions end; otherwise the visitor takes the address as verified and joins
    /// `organization`. Answers the customer who now holds the chat. One transaction.
    async fn verify_customer_email(
        &self,
        visitor: CustomerId,
        email: &EmailAddress,
        organization: Option<OrganizationId>,
    ) -> StoreResult<Customer>;

    /// Stores a one-time login link for a customer.
    async fn insert_login_link(
        &self,
        token_hash: &str,
        customer: CustomerId,
        created_at: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// How many login links were made for `customer` since `since`.
    async fn login_links_since(&self, customer: CustomerId, since: i64) -> StoreResult<i64>;
    /// Uses a login link once: its customer if it exists, is unused and has not expired
    /// (`NotFound` otherwise).
    async fn redeem_login_link(&self, token_hash: &str, now: i64) -> StoreResult<CustomerId>;

    async fn insert_session(&self, token_hash: &str, record: SessionRecord) -> StoreResult<()>;
    async fn session(&self, token_hash: &str) -> StoreResult<SessionRecord>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// R38: sets the password hash of a user or customer and ends every session of theirs except
    /// `keep` (a session token hash), in one transaction.
    async fn set_password(&self, party: Party, password_hash: &str, keep: Option<&str>) -> StoreResult<()>;
    async fn insert_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        created_at: i64,
    ) -> StoreResult<ApiToken>;
    async fn api_tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>>;
    /// The owner of a token, recording its use (at most once a minute: `last_used_at` is informative).
    async fn use_api_token(&self, token_hash: &str, now: i64) -> StoreResult<UserId>;
    /// Revokes a token of `user`; answers its hash.
    async fn delete_api_token(&self, user: UserId, id: ApiTokenId) -> StoreResult<String>;
}

/// R37: the customers a user limited to followed projects reaches: those who share a
/// conversation with them (their inbox: conversations they may see), and the requesters and
/// followers of items of `projects` (their scope) or of items they follow or are assigned to.
#[derive(Debug, Clone, Copy)]
pub struct CustomerReach<'a> {
    pub user: UserId,
    pub projects: &'a [ProjectId],
}

/// The statements of customer reach, shared by the backends. `list(n)` is how a backend reads
/// the JSON array of ids bound as `$n` as a one-column table.
pub mod sql {
    /// Customer ids reached by user `$u`, with the scope's projects bound as `$p`.
    fn reach(list: fn(u8) -> String, u: u8, p: u8) -> String {
        format!(
            "SELECT c.party_id FROM inbox u JOIN inbox c ON c.conversation_id = u.conversation_id
             WHERE u.party_kind = 'user' AND u.party_id = ${u} AND c.party_kind = 'customer'
             UNION
             SELECT p.party_id FROM item_people p JOIN items i ON i.id = p.item_id
             WHERE p.party_kind = 'customer'
               AND (i.project_id IN ({projects})
                    OR EXISTS (SELECT 1 FROM item_people f
                               WHERE f.item_id = i.id AND f.party_kind = 'user' AND f.party_id = ${u}))",
            projects = list(p)
        )
    }

    /// A page of customers: after ($1, $2), matching $3, within the reach of user $5 (projects
    /// $6) unless $5 is NULL, at most $4.
    pub fn customers_page(list: fn(u8) -> String) -> String {
        format!(
            "SELECT * FROM customers
             WHERE ($1 IS NULL OR name > $1 OR (name = $1 AND id > $2))
               AND ($3 IS NULL OR LOWER(name) LIKE LOWER($3) ESCAPE '\\' OR email LIKE LOWER($3) ESCAPE '\\'
                    OR unverified_email LIKE LOWER($3) ESCAPE '\\')
               AND ($5 IS NULL OR id IN ({reach}))
             ORDER BY name, id LIMIT $4",
            reach = reach(list, 5, 6)
        )
    }

    /// Which customers of $3 lie within the reach of user $1 (projects $2).
    pub fn customers_within(list: fn(u8) -> String) -> String {
        format!("SELECT id FROM customers WHERE id IN ({}) AND id IN ({})", list(3), reach(list, 1, 2))
    }
}
