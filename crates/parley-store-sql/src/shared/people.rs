//! Company, users, teams, organizations, customers, sessions and API tokens.

use crate::errors::{other, unique};
use crate::names::{Db, DbConnection};
use crate::rows::{self, get};
use crate::SqlStore;
use crate::B;
use async_trait::async_trait;
use parley_domain::*;
use parley_store::*;
use parley_store_sql::{Backend, Engine};
use sqlx::QueryBuilder;

type DbQuery<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

pub(crate) const USER_COLUMNS: &str =
    "id, email, name, handle, role, created_at, deactivated_at IS NULL AS active, away, connected_at";
const PREFERENCE_COLUMNS: &str = "scope, show_from_customers, customer_messages, replies_to_customers, \
     followed_internal, sound, email_assignment_changes, email_new_members, auto_accept_invitations";

/// Binds a user's preferences in the order of [`PREFERENCE_COLUMNS`].
fn bind_preferences<'q>(query: DbQuery<'q>, p: &'q Preferences) -> DbQuery<'q> {
    query
        .bind(p.scope.as_str())
        .bind(p.show_from_customers)
        .bind(p.customer_messages.as_str())
        .bind(p.replies_to_customers.as_str())
        .bind(p.followed_internal)
        .bind(p.sound)
        .bind(p.email_assignment_changes)
        .bind(p.email_new_members)
        .bind(p.auto_accept_invitations)
}

/// Inserts a user and marks their inbox to be built (`finish_rebuild` once committed); answers the
/// rebuild's generation too.
async fn insert_user(conn: &mut DbConnection, u: NewUser) -> StoreResult<(User, i64)> {
    let p = &u.preferences;
    let sql = format!(
        "INSERT INTO users (email, name, handle, role, password_hash, created_at, {PREFERENCE_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id"
    );
    let query = sqlx::query(&sql)
        .bind(u.email.as_str())
        .bind(&u.name)
        .bind(&u.handle)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(u.created_at);
    let row = bind_preferences(query, p).fetch_one(&mut *conn).await.map_err(unique("email"))?;
    let id: i64 = get(&row, "id")?;
    let generation = crate::inbox_rebuild::mark(conn, Party::User(UserId(id))).await?;
    let user = User {
        id: UserId(id),
        email: u.email.as_str().to_string(),
        name: u.name,
        handle: u.handle,
        role: u.role,
        created_at: u.created_at,
        active: true,
        away: false,
        connected_at: None,
        available: false,
    };
    Ok((user, generation))
}

async fn load_team(conn: &mut DbConnection, id: TeamId) -> StoreResult<Team> {
    let name: String = sqlx::query_scalar("SELECT name FROM teams WHERE id = $1")
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)?;
    let members: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
        .bind(id.0)
        .fetch_all(conn)
        .await
        .map_err(other)?;
    Ok(Team { id, name, members: members.into_iter().map(UserId).collect() })
}

fn organization(row: &crate::names::DbRow) -> StoreResult<Organization> {
    Ok(Organization { id: OrganizationId(get(row, "id")?), name: get(row, "name")?, domain: get(row, "domain")? })
}

/// The profiles of `ids` and of every user who asks for all customer messages or all replies
/// (R10), ordered by id.
pub(crate) async fn audience_profiles(conn: &mut DbConnection, ids: &[UserId]) -> StoreResult<Vec<UserProfile>> {
    // Two queries whatever the audience's size: the preferences of everyone concerned, then the
    // projects they follow (directly or through a team).
    let mut query = QueryBuilder::new(format!(
        "SELECT id, deactivated_at IS NULL AS active, {PREFERENCE_COLUMNS} FROM users WHERE id IN ("
    ));
    let mut list = query.separated(", ");
    list.push_bind(0_i64);
    for id in ids {
        list.push_bind(id.0);
    }
    // A union, so that each part is read through an index (the second: `users_wanting_all`).
    query.push(format!(
        ") UNION SELECT id, deactivated_at IS NULL AS active, {PREFERENCE_COLUMNS} FROM users
         WHERE customer_messages = 'all' OR replies_to_customers = 'all'
         ORDER BY id"
    ));
    let rows = query.build().fetch_all(&mut *conn).await.map_err(other)?;
    let mut profiles = Vec::with_capacity(rows.len());
    for row in &rows {
        let id = UserId(get(row, "id")?);
        let active = get(row, "active")?;
        profiles.push(UserProfile { id, active, preferences: rows::preferences(row)?, followed_projects: Vec::new() });
    }
    if profiles.is_empty() {
        return Ok(profiles);
    }
    let mut query = QueryBuilder::new("WITH asked(user_id) AS (VALUES ");
    let mut list = query.separated(", ");
    for p in &profiles {
        list.push("(").push_bind_unseparated(p.id.0).push_unseparated(")");
    }
    // Directly, or through a team: two indexed joins (one join on either condition scans every
    // project membership for each user).
    query.push(
        ") SELECT a.user_id, pp.project_id FROM asked a
           JOIN project_people pp ON pp.party_kind = 'user' AND pp.party_id = a.user_id
         UNION SELECT a.user_id, pp.project_id FROM asked a
           JOIN team_members tm ON tm.user_id = a.user_id
           JOIN project_people pp ON pp.party_kind = 'team' AND pp.party_id = tm.team_id
         ORDER BY 1, 2",
    );
    let follows = query.build().fetch_all(&mut *conn).await.map_err(other)?;
    for row in &follows {
        let user: i64 = get(row, "user_id")?;
        if let Ok(i) = profiles.binary_search_by_key(&user, |p| p.id.0) {
            profiles[i].followed_projects.push(ProjectId(get(row, "project_id")?));
        }
    }
    Ok(profiles)
}

/// The users with these handles, in the order asked (one query); unknown handles are left out.
pub(crate) async fn users_by_handle(conn: &mut DbConnection, handles: &[String]) -> StoreResult<Vec<User>> {
    if handles.is_empty() {
        return Ok(Vec::new());
    }
    // A deactivated user cannot be mentioned (nor pulled in as a follower by a mention).
    let mut query =
        QueryBuilder::new(format!("SELECT {USER_COLUMNS} FROM users WHERE deactivated_at IS NULL AND handle IN ("));
    let mut list = query.separated(", ");
    for handle in handles {
        list.push_bind(handle);
    }
    query.push(")");
    let rows = query.build().fetch_all(&mut *conn).await.map_err(other)?;
    let found: Vec<User> = rows.iter().map(rows::user).collect::<StoreResult<_>>()?;
    Ok(handles.iter().filter_map(|h| found.iter().find(|u| &u.handle == h).cloned()).collect())
}

#[async_trait]
impl PeopleStore for SqlStore {
    async fn company(&self) -> StoreResult<Option<Company>> {
        let row =
            sqlx::query("SELECT * FROM company WHERE id = 1").fetch_optional(&self.reader).await.map_err(other)?;
        row.map(|r| {
            Ok(Company {
                name: get(&r, "name")?,
                settings: CompanySettings {
                    item_default_visibility: rows::parse(&r, "item_default_visibility", Visibility::parse)?,
                    project_default_visibility: rows::parse(&r, "project_default_visibility", Visibility::parse)?,
                    email_ticket_project_id: get::<Option<i64>>(&r, "email_ticket_project_id")?.map(ProjectId),
                    portal_request_project_id: get::<Option<i64>>(&r, "portal_request_project_id")?.map(ProjectId),
                    staff_display_name: get(&r, "staff_display_name")?,
                    widget_greeting: get(&r, "widget_greeting")?,
                    widget_reply_time: get(&r, "widget_reply_time")?,
                    chat_send_guard_ms: get(&r, "chat_send_guard_ms")?,
                    send_guard_ms: get(&r, "send_guard_ms")?,
                    routing: rows::parse(&r, "routing", parley_domain::routing::Routing::parse)?,
                    routing_cap: get(&r, "routing_cap")?,
                },
                created_at: get(&r, "created_at")?,
                send_guards_in_effect: None,
            })
        })
        .transpose()
    }

    async fn create_company(&self, name: &str, created_at: i64, admin: NewUser) -> StoreResult<User> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let defaults = CompanySettings::default();
        sqlx::query("INSERT INTO company (id, name, item_default_visibility, project_default_visibility, created_at) VALUES (1, $1, $2, $3, $4)")
            .bind(name)
            .bind(defaults.item_default_visibility.as_str())
            .bind(defaults.project_default_visibility.as_str())
            .bind(created_at)
            .execute(&mut *tx)
            .await
            .map_err(unique("company"))?;
        let (user, generation) = insert_user(&mut tx, admin).await?;
        tx.commit().await.map_err(other)?;
        self.finish_rebuild(Party::User(user.id), generation).await?;
        Ok(user)
    }

    async fn update_company(&self, name: Option<&str>, settings: CompanySettings) -> StoreResult<Company> {
        sqlx::query(
            "UPDATE company SET name = COALESCE($1, name), item_default_visibility = $2, project_default_visibility = $3,
                    email_ticket_project_id = $4, portal_request_project_id = $5, staff_display_name = $6,
                    widget_greeting = $7, widget_reply_time = $8, chat_send_guard_ms = $9, send_guard_ms = $10,
                    routing = $11, routing_cap = $12
             WHERE id = 1",
        )
        .bind(name)
        .bind(settings.item_default_visibility.as_str())
        .bind(settings.project_default_visibility.as_str())
        .bind(settings.email_ticket_project_id.map(|p| p.0))
        .bind(settings.portal_request_project_id.map(|p| p.0))
        .bind(&settings.staff_display_name)
        .bind(&settings.widget_greeting)
        .bind(&settings.widget_reply_time)
        .bind(settings.chat_send_guard_ms)
        .bind(settings.send_guard_ms)
        .bind(settings.routing.as_str())
        .bind(settings.routing_cap)
        .execute(&self.writer)
        .await
        .map_err(other)?;
        self.company().await?.ok_or(StoreError::NotFound)
    }

    async fn insert_user(&self, user: NewUser) -> StoreResult<User> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let (user, generation) = insert_user(&mut tx, user).await?;
        tx.commit().await.map_err(other)?;
        self.finish_rebuild(Party::User(user.id), generation).await?;
        Ok(user)
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        rows::user(&row)
    }

    async fn user_credentials(&self, email: &EmailAddress) -> StoreResult<(User, String)> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        Ok((rows::user(&row)?, get(&row, "password_hash")?))
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name, id"))
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        rows.iter().map(rows::user).collect()
    }

    async fn update_user(&self, id: UserId, name: Option<&str>, role: Option<Role>) -> StoreResult<User> {
        let row = sqlx::query(&format!(
            "UPDATE users SET name = COALESCE($1, name), role = COALESCE($2, role) WHERE id = $3 RETURNING {USER_COLUMNS}"
        ))
        .bind(name)
        .bind(role.map(Role::as_str))
        .bind(id.0)
        .fetch_one(&self.writer)
        .await
        .map_err(other)?;
        rows::user(&row)
    }

    async fn set_away(&self, id: UserId, away: bool) -> StoreResult<User> {
        let row = sqlx::query(&format!("UPDATE users SET away = $1 WHERE id = $2 RETURNING {USER_COLUMNS}"))
            .bind(away)
            .bind(id.0)
            .fetch_optional(&self.writer)
            .await
            .map_err(other)?
            .ok_or(StoreError::NotFound)?;
        rows::user(&row)
    }

    async fn mark_connected(&self, users: &[UserId], at: Option<i64>) -> StoreResult<()> {
        if users.is_empty() {
            return Ok(());
        }
        let mut query = QueryBuilder::new("UPDATE users SET connected_at = ");
        query.push_bind(at).push(" WHERE id IN (");
        let mut list = query.separated(", ");
        for user in users {
            list.push_bind(user.0);
        }
        query.push(")");
        query.build().execute(&self.writer).await.map_err(other)?;
        Ok(())
    }

    async fn set_user_active(&self, id: UserId, active: bool, now: i64) -> StoreResult<User> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let row = sqlx::query(&format!(
            "UPDATE users SET deactivated_at = CASE WHEN $1 THEN NULL ELSE COALESCE(deactivated_at, $2) END
             WHERE id = $3 RETURNING {USER_COLUMNS}"
        ))
        .bind(active)
        .bind(now)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?
        .ok_or(StoreError::NotFound)?;
        if !active {
            // Every way in ends with the deactivation, in the same transaction.
            sqlx::query("DELETE FROM sessions WHERE party_kind = 'user' AND party_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
            sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }
        tx.commit().await.map_err(other)?;
        rows::user(&row)
    }

    async fn handle_taken(&self, handle: &str) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE handle = $1")
            .bind(handle)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        Ok(n > 0)
    }

    async fn users_by_handle(&self, handles: &[String]) -> StoreResult<Vec<User>> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        users_by_handle(&mut conn, handles).await
    }

    async fn preferences(&self, id: UserId) -> StoreResult<Preferences> {
        let row = sqlx::query(&format!("SELECT {PREFERENCE_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        rows::preferences(&row)
    }

    async fn set_preferences(&self, id: UserId, p: &Preferences) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let scope: Option<String> = sqlx::query_scalar("SELECT scope FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
        let scope = scope.ok_or(StoreError::NotFound)?;
        let sql =
            format!("UPDATE users SET ({PREFERENCE_COLUMNS}) = ($1, $2, $3, $4, $5, $6, $7, $8, $9) WHERE id = $10");
        bind_preferences(sqlx::query(&sql), p).bind(id.0).execute(&mut *tx).await.map_err(other)?;
        // A new scope changes what the user may see (R20): their inbox is rebuilt.
        let rebuild = match scope != p.scope.as_str() {
            true => Some(crate::inbox_rebuild::mark(&mut tx, Party::User(id)).await?),
            false => None,
        };
        tx.commit().await.map_err(other)?;
        if let Some(generation) = rebuild {
            self.finish_rebuild(Party::User(id), generation).await?;
        }
        Ok(())
    }

    async fn audience_profiles(&self, ids: &[UserId]) -> StoreResult<Vec<UserProfile>> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        audience_profiles(&mut conn, ids).await
    }

    async fn user_profile(&self, id: UserId) -> StoreResult<UserProfile> {
        let preferences = self.preferences(id).await?;
        let active: bool = sqlx::query_scalar("SELECT deactivated_at IS NULL FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        let followed: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT project_id FROM project_people
             WHERE (party_kind = 'user' AND party_id = $1)
                OR (party_kind = 'team' AND party_id IN (SELECT team_id FROM team_members WHERE user_id = $1))
             ORDER BY project_id",
        )
        .bind(id.0)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        Ok(UserProfile { id, active, preferences, followed_projects: followed.into_iter().map(ProjectId).collect() })
    }

    async fn insert_team(&self, name: &str) -> StoreResult<Team> {
        let id: i64 = sqlx::query_scalar("INSERT INTO teams (name) VALUES ($1) RETURNING id")
            .bind(name)
            .fetch_one(&self.writer)
            .await
            .map_err(unique("name"))?;
        Ok(Team { id: TeamId(id), name: name.to_string(), members: vec![] })
    }

    async fn teams(&self) -> StoreResult<Vec<Team>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM teams ORDER BY name").fetch_all(&self.reader).await.map_err(other)?;
        let mut conn = self.reader.acquire().await.map_err(other)?;
        let mut teams = Vec::with_capacity(ids.len());
        for id in ids {
            teams.push(load_team(&mut conn, TeamId(id)).await?);
        }
        Ok(teams)
    }

    async fn team(&self, id: TeamId) -> StoreResult<Team> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        load_team(&mut conn, id).await
    }

    async fn set_team_member(&self, team: TeamId, user: UserId, member: bool) -> StoreResult<Team> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        load_team(&mut tx, team).await?;
        let sql = if member {
            "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2"
        };
        sqlx::query(sql).bind(team.0).bind(user.0).execute(&mut *tx).await.map_err(other)?;
        // The team's projects and conversations come or go with it.
        let generation = crate::inbox_rebuild::mark(&mut tx, Party::User(user)).await?;
        let t = load_team(&mut tx, team).await?;
        tx.commit().await.map_err(other)?;
        self.finish_rebuild(Party::User(user), generation).await?;
        Ok(t)
    }

    async fn insert_organization(&self, name: &str, domain: &str) -> StoreResult<Organization> {
        let id: i64 = sqlx::query_scalar("INSERT INTO organizations (name, domain) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(domain)
            .fetch_one(&self.writer)
            .await
            .map_err(unique("domain"))?;
        Ok(Organization { id: OrganizationId(id), name: name.to_string(), domain: domain.to_string() })
    }

    async fn organizations(&self) -> StoreResult<Vec<Organization>> {
        let rows = sqlx::query("SELECT id, name, domain FROM organizations ORDER BY name")
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        rows.iter().map(organization).collect()
    }

    async fn organization_by_domain(&self, domain: &str) -> StoreResult<Option<Organization>> {
        let row = sqlx::query("SELECT id, name, domain FROM organizations WHERE domain = $1")
            .bind(domain)
            .fetch_optional(&self.reader)
            .await
            .map_err(other)?;
        row.as_ref().map(organization).transpose()
    }

    async fn insert_customer(&self, c: NewCustomer) -> StoreResult<Customer> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut tallies = crate::inbox::Tallies::default();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (email, name, organization_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(c.email.as_ref().map(EmailAddress::as_str))
        .bind(&c.name)
        .bind(c.organization_id.map(|o| o.0))
        .bind(&c.password_hash)
        .bind(c.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(unique("email"))?;
        // Projects shared with their organization are theirs to see at once.
        if c.organization_id.is_some() {
            crate::inbox::rebuild(
                &mut tx,
                Party::Customer(CustomerId(id)),
                crate::inbox::EVERY_CONVERSATION,
                &mut tallies,
            )
            .await?;
        }
        self.commit(tx, tallies).await?;
        Ok(Customer {
            id: CustomerId(id),
            email: c.email.as_ref().map(|e| e.as_str().to_string()),
            unverified_email: None,
            name: c.name,
            organization_id: c.organization_id,
            created_at: c.created_at,
        })
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Customer> {
        let row = sqlx::query("SELECT * FROM customers WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        rows::customer(&row)
    }

    async fn customer_credentials(&self, email: &EmailAddress) -> StoreResult<(Customer, Option<String>)> {
        let row = sqlx::query("SELECT * FROM customers WHERE email = $1")
            .bind(email.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        Ok((rows::customer(&row)?, get(&row, "password_hash")?))
    }

    async fn customers_page(
        &self,
        search: Option<&str>,
        after: Option<(&str, CustomerId)>,
        reach: Option<CustomerReach<'_>>,
        limit: i64,
    ) -> StoreResult<Vec<Customer>> {
        // Keyset pagination: the page after (name, id), so each page costs the same.
        let pattern = search.map(|s| format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
        let (after_name, after_id) = after.map(|(n, id)| (Some(n), Some(id.0))).unwrap_or((None, None));
        let rows = sqlx::query(&parley_store::people::sql::customers_page(B::id_set))
            .bind(after_name)
            .bind(after_id)
            .bind(pattern)
            .bind(limit)
            .bind(reach.map(|r| r.user.0))
            .bind(B::id_list(reach.map_or(&[][..], |r| r.projects).iter().map(|p| p.0)))
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        rows.iter().map(rows::customer).collect()
    }

    async fn customers_within(
        &self,
        reach: CustomerReach<'_>,
        customers: &[CustomerId],
    ) -> StoreResult<Vec<CustomerId>> {
        let ids: Vec<i64> = sqlx::query_scalar(&parley_store::people::sql::customers_within(B::id_set))
            .bind(reach.user.0)
            .bind(B::id_list(reach.projects.iter().map(|p| p.0)))
            .bind(B::id_list(customers.iter().map(|c| c.0)))
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        Ok(ids.into_iter().map(CustomerId).collect())
    }

    async fn set_unverified_contact(
        &self,
        id: CustomerId,
        email: &EmailAddress,
        name: Option<&str>,
        verification: NewVerification,
    ) -> StoreResult<Customer> {
        crate::verification::set_unverified_contact(self, id, email, name, verification).await
    }

    async fn verifications_since(&self, customer: CustomerId, since: i64) -> StoreResult<i64> {
        crate::verification::verifications_since(self, customer, since).await
    }

    async fn use_verification_code(
        &self,
        customer: CustomerId,
        code_hash: &str,
        now: i64,
        max_attempts: i64,
    ) -> StoreResult<EmailAddress> {
        crate::verification::use_verification_code(self, customer, code_hash, now, max_attempts).await
    }

    async fn verify_customer_email(
        &self,
        visitor: CustomerId,
        email: &EmailAddress,
        organization: Option<OrganizationId>,
    ) -> StoreResult<Customer> {
        crate::verification::verify_customer_email(self, visitor, email, organization).await
    }

    async fn insert_login_link(
        &self,
        token_hash: &str,
        customer: CustomerId,
        created_at: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO login_links (token_hash, customer_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(customer.0)
        .bind(created_at)
        .bind(expires_at)
        .execute(&self.writer)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn login_links_since(&self, customer: CustomerId, since: i64) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM login_links WHERE customer_id = $1 AND created_at >= $2")
            .bind(customer.0)
            .bind(since)
            .fetch_one(&self.reader)
            .await
            .map_err(other)
    }

    async fn redeem_login_link(&self, token_hash: &str, now: i64) -> StoreResult<CustomerId> {
        let id: i64 = sqlx::query_scalar(
            "UPDATE login_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING customer_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_one(&self.writer)
        .await
        .map_err(other)?;
        Ok(CustomerId(id))
    }

    async fn insert_session(&self, token_hash: &str, record: SessionRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (token_hash, party_kind, party_id, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(record.party.kind_str())
            .bind(record.party.raw_id())
            .bind(record.expires_at)
            .execute(&self.writer)
            .await
            .map_err(unique("session"))?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<SessionRecord> {
        let row = sqlx::query("SELECT party_kind, party_id, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        Ok(SessionRecord { party: rows::party(&row)?, expires_at: get(&row, "expires_at")? })
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn insert_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        created_at: i64,
    ) -> StoreResult<ApiToken> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .bind(token_hash)
        .bind(created_at)
        .fetch_one(&self.writer)
        .await
        .map_err(unique("token"))?;
        Ok(ApiToken { id: ApiTokenId(id), name: name.to_string(), created_at, last_used_at: None })
    }

    async fn api_tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let rows =
            sqlx::query("SELECT id, name, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id")
                .bind(user.0)
                .fetch_all(&self.reader)
                .await
                .map_err(other)?;
        rows.iter()
            .map(|r| {
                Ok(ApiToken {
                    id: ApiTokenId(get(r, "id")?),
                    name: get(r, "name")?,
                    created_at: get(r, "created_at")?,
                    last_used_at: get(r, "last_used_at")?,
                })
            })
            .collect()
    }

    async fn use_api_token(&self, token_hash: &str, now: i64) -> StoreResult<UserId> {
        let (user, last_used): (i64, Option<i64>) =
            sqlx::query_as("SELECT user_id, last_used_at FROM api_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_one(&self.reader)
                .await
                .map_err(other)?;
        // Recording the last use is informative only; one write a minute per token is plenty.
        if last_used.is_some_and(|at| at >= now - 60_000) {
            return Ok(UserId(user));
        }
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(now)
            .bind(token_hash)
            .bind(now - 60_000)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        Ok(UserId(user))
    }

    async fn delete_api_token(&self, user: UserId, id: ApiTokenId) -> StoreResult<String> {
        sqlx::query_scalar("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 RETURNING token_hash")
            .bind(id.0)
            .bind(user.0)
            .fetch_one(&self.writer)
            .await
            .map_err(other)
    }

    async fn set_password(&self, party: Party, password_hash: &str, keep: Option<&str>) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        replace_password(&mut tx, party, password_hash, keep).await?;
        tx.commit().await.map_err(other)?;
        Ok(())
    }
}

/// R38: sets a party's password and ends every session of theirs but `keep`, and every API token.
pub(crate) async fn replace_password(
    tx: &mut sqlx::Transaction<'_, Db>,
    party: Party,
    password_hash: &str,
    keep: Option<&str>,
) -> StoreResult<()> {
    let table = match party {
        Party::User(_) => "users",
        Party::Customer(_) => "customers",
    };
    let done = sqlx::query(&format!("UPDATE {table} SET password_hash = $1 WHERE id = $2"))
        .bind(password_hash)
        .bind(party.raw_id())
        .execute(&mut **tx)
        .await
        .map_err(other)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM sessions WHERE party_kind = $1 AND party_id = $2 AND ($3 IS NULL OR token_hash <> $3)")
        .bind(party.kind_str())
        .bind(party.raw_id())
        .bind(keep)
        .execute(&mut **tx)
        .await
        .map_err(other)?;
    if let Party::User(user) = party {
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut **tx)
            .await
            .map_err(other)?;
    }
    Ok(())
}
