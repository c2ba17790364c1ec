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
    /// name or address contains `search` (case-insensitive), at most `limit`.
    async fn customers_page(
        &self,
        search: Option<&str>,
        after: Option<(&str, CustomerId)>,
        limit: i64,
    ) -> StoreResult<Vec<Customer>>;
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
