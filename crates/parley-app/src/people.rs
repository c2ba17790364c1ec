//! The company, users and their preferences, teams, organizations and customers.

use crate::auth::validate_password;
use crate::system_emails::SystemRecipient;
use crate::{Actor, App, AppError, AppResult};
use base64::Engine;
use parley_domain::system_email::PasswordLink;
use parley_domain::values::MAX_NAME_CHARS;
use parley_domain::values::{parse_domain, parse_name, parse_text};
use parley_domain::*;
use parley_store::{CustomerReach, NewCustomer, NewUser};

/// The stored hash of a user who has not chosen a password yet: no password matches it.
const NO_PASSWORD: &str = "!unset";

/// The widget's greeting: a few sentences at most.
const MAX_GREETING_CHARS: usize = 500;

/// The most customers one page holds.
const MAX_CUSTOMER_PAGE: i64 = 200;

/// A page of customers and where the next one starts (`None` after the last).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CustomerPage {
    pub customers: Vec<Customer>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(name: &str, id: CustomerId) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}\u{1f}{name}", id.0))
}

fn decode_cursor(cursor: &str) -> AppResult<(String, CustomerId)> {
    let invalid = || AppError::unprocessable("unknown_cursor", "cursor: is not a cursor this API gave");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (id, name) = text.split_once('\u{1f}').ok_or_else(invalid)?;
    Ok((name.to_string(), CustomerId(id.parse().map_err(|_| invalid())?)))
}

/// R33: the longest send guard an admin may set.
const MAX_SEND_GUARD_MS: i64 = 300_000;

impl App {
    pub async fn company(&self, actor: Actor) -> AppResult<Company> {
        Self::require_user(actor, "company")?;
        let mut company = self.store.company().await?.ok_or(AppError::NotFound("company"))?;
        company.send_guards_in_effect = Some(self.send_guards_in_effect(company.settings.send_guards()));
        Ok(company)
    }

    /// R33: the send guards replies are held by now, as the company's settings and the
    /// deployment's default make them.
    fn send_guards_in_effect(&self, set: SendGuards) -> SendGuardsInEffect {
        let deployment = self.config.send_guard.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        SendGuardsInEffect {
            chat_ms: delivery::send_guard_ms(Channel::Widget, set, deployment),
            other_ms: delivery::send_guard_ms(Channel::App, set, deployment),
        }
    }

    pub async fn update_company(
        &self,
        actor: Actor,
        name: Option<&str>,
        settings: CompanySettings,
    ) -> AppResult<Company> {
        Self::require_admin(actor)?;
        let name = name.map(|n| parse_name("name", n)).transpose()?;
        let settings = CompanySettings {
            staff_display_name: match settings.staff_display_name.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(display) => Some(parse_name("staff_display_name", display)?),
            },
            widget_greeting: parse_text("widget_greeting", &settings.widget_greeting, MAX_GREETING_CHARS)?,
            widget_reply_time: match settings.widget_reply_time.trim() {
                "" => String::new(),
                promise => parse_name("widget_reply_time", promise)?,
            },
            ..settings
        };
        for (field, guard) in
            [("chat_send_guard_ms", settings.chat_send_guard_ms), ("send_guard_ms", settings.send_guard_ms)]
        {
            if guard.is_some_and(|ms| !(0..=MAX_SEND_GUARD_MS).contains(&ms)) {
                return Err(ValidationError::new(field, "must be between 0 and 300000 ms (5 minutes)").into());
            }
        }
        if !(1..=parley_domain::routing::MAX_CAP).contains(&settings.routing_cap) {
            return Err(ValidationError::new("routing_cap", "must be between 1 and 1000").into());
        }
        for (field, project) in [
            ("email_ticket_project_id", settings.email_ticket_project_id),
            ("portal_request_project_id", settings.portal_request_project_id),
        ] {
            if let Some(project) = project {
                if matches!(self.store.project(project).await, Err(parley_store::StoreError::NotFound)) {
                    return Err(AppError::unprocessable("unknown_project", format!("{field} names no project")));
                }
            }
        }
        let mut company = self.store.update_company(name.as_deref(), settings).await?;
        company.send_guards_in_effect = Some(self.send_guards_in_effect(company.settings.send_guards()));
        Ok(company)
    }

    /// Creates a user. With a password, the admin hands it over; without one, the user is sent a
    /// welcome with a link to choose it (R31) and cannot log in until they do.
    pub async fn create_user(
        &self,
        actor: Actor,
        email: &str,
        name: &str,
        role: Role,
        password: Option<&str>,
    ) -> AppResult<User> {
        let admin = Self::require_admin(actor)?;
        let email = EmailAddress::parse("email", email)?;
        let name = parse_name("name", name)?;
        if let Some(password) = password {
            validate_password("password", password)?;
        }
        let handle = self.free_handle(&email.handle_hint()).await?;
        let password_hash = match password {
            Some(password) => crate::hash_password(password).await?,
            None => NO_PASSWORD.to_string(),
        };
        let user = NewUser {
            email,
            name,
            handle,
            role,
            password_hash,
            preferences: Preferences::default(),
            created_at: self.now(),
        };
        let user = self.store.insert_user(user).await.map_err(AppError::from_store("user"))?;
        if password.is_none() {
            let by = self.store.user(admin).await?.name;
            let to =
                SystemRecipient { party: Party::User(user.id), name: user.name.clone(), address: user.email.clone() };
            self.send_password_link(&to, PasswordLink::Welcome, Some(&by)).await?;
        }
        Ok(user)
    }

    /// `hint`, or `hint2`, `hint3`… whichever no one has yet.
    async fn free_handle(&self, hint: &str) -> AppResult<String> {
        let mut candidate = hint.to_string();
        for n in 2.. {
            if !self.store.handle_taken(&candidate).await? {
                break;
            }
            candidate = format!("{hint}{n}");
        }
        Ok(candidate)
    }

    pub async fn users(&self, actor: Actor) -> AppResult<Vec<User>> {
        Self::require_user(actor, "users")?;
        let now = self.now();
        let mut users = self.store.users().await?;
        for user in &mut users {
            user.available = parley_domain::routing::available(user.away, user.connected_at, now);
        }
        Ok(users)
    }

    pub async fn user(&self, actor: Actor, id: UserId) -> AppResult<User> {
        Self::require_user(actor, "user")?;
        let mut user = self.store.user(id).await.map_err(AppError::from_store("user"))?;
        user.available = parley_domain::routing::available(user.away, user.connected_at, self.now());
        Ok(user)
    }

    pub async fn update_user(
        &self,
        actor: Actor,
        id: UserId,
        name: Option<&str>,
        role: Option<Role>,
        active: Option<bool>,
    ) -> AppResult<User> {
        Self::require_admin(actor)?;
        let name = name.map(|n| parse_name("name", n)).transpose()?;
        let before = self.store.user(id).await.map_err(AppError::from_store("user"))?;
        let stops_admin = role.is_some_and(|r| r != Role::Admin) || active == Some(false);
        if active == Some(false) && actor.user_id() == Some(id) {
            return Err(AppError::conflict("cannot_deactivate_self", "you cannot deactivate yourself"));
        }
        if before.role == Role::Admin && before.active && stops_admin {
            let users = self.store.users().await?;
            if users.iter().filter(|u| u.role == Role::Admin && u.active).count() <= 1 {
                return Err(AppError::conflict(
                    "last_admin",
                    "the last admin cannot stop being one: make another admin first",
                ));
            }
        }
        let mut user = self.store.update_user(id, name.as_deref(), role).await.map_err(AppError::from_store("user"))?;
        if let Some(active) = active.filter(|a| *a != before.active) {
            user = self.store.set_user_active(id, active, self.now()).await.map_err(AppError::from_store("user"))?;
            if !active {
                // Their sessions and tokens are gone; their open connections close now.
                self.end_sessions_of(Party::User(id), None);
                // R42: what was theirs to answer goes to someone else.
                match self.reassign_from(id).await {
                    Ok(routed) => tracing::info!(user = id.0, routed, "a deactivated user's conversations reassigned"),
                    Err(error) => {
                        tracing::warn!(user = id.0, %error, "a deactivated user's conversations not reassigned")
                    }
                }
            }
        }
        if user.role != before.role {
            // R38: their open connections carry the old role; they reconnect with the new one.
            self.access_changed(Party::User(id));
        }
        Ok(user)
    }

    /// A user's own preferences, or anyone's for an admin.
    pub async fn preferences(&self, actor: Actor, id: UserId) -> AppResult<Preferences> {
        self.check_self_or_admin(actor, id)?;
        self.store.preferences(id).await.map_err(AppError::from_store("user"))
    }

    /// R20–R25: a user edits their own preferences; only an admin changes the scope (R20).
    pub async fn set_preferences(&self, actor: Actor, id: UserId, new: Preferences) -> AppResult<Preferences> {
        self.check_self_or_admin(actor, id)?;
        let current = self.store.preferences(id).await.map_err(AppError::from_store("user"))?;
        if new.scope != current.scope && !actor.is_admin() {
            return Err(AppError::Forbidden("only an admin may change which conversations a user may see"));
        }
        self.store.set_preferences(id, &new).await?;
        if new.scope != current.scope {
            self.access_changed(Party::User(id));
        }
        Ok(new)
    }

    fn check_self_or_admin(&self, actor: Actor, id: UserId) -> AppResult<()> {
        match actor {
            Actor::User { id: me, .. } if me == id => Ok(()),
            a if a.is_admin() => Ok(()),
            Actor::User { .. } => Err(AppError::Forbidden("you may only change your own preferences")),
            Actor::Customer { .. } => Err(AppError::NotFound("user")),
        }
    }

    pub async fn create_team(&self, actor: Actor, name: &str) -> AppResult<Team> {
        Self::require_admin(actor)?;
        self.store.insert_team(&parse_name("name", name)?).await.map_err(AppError::from_store("team"))
    }

    pub async fn teams(&self, actor: Actor) -> AppResult<Vec<Team>> {
        Self::require_user(actor, "teams")?;
        Ok(self.store.teams().await?)
    }

    pub async fn set_team_member(&self, actor: Actor, team: TeamId, user: UserId, member: bool) -> AppResult<Team> {
        Self::require_admin(actor)?;
        self.store.user(user).await.map_err(AppError::from_store("user"))?;
        self.store.set_team_member(team, user, member).await.map_err(AppError::from_store("team"))
    }

    pub async fn create_organization(&self, actor: Actor, name: &str, domain: &str) -> AppResult<Organization> {
        Self::require_admin(actor)?;
        let name = parse_name("name", name)?;
        let domain = parse_domain("domain", domain)?;
        self.store.insert_organization(&name, &domain).await.map_err(AppError::from_store("organization"))
    }

    pub async fn organizations(&self, actor: Actor) -> AppResult<Vec<Organization>> {
        Self::require_user(actor, "organizations")?;
        Ok(self.store.organizations().await?)
    }

    /// Adds a customer; one whose email domain matches an organization joins it (R1). Only an
    /// admin gives one a password (R44): with it, whoever set it could log in as the customer and
    /// read what is shared with the customer's organization, outside their own scope. Others
    /// invite the customer, who then proves the address by choosing their own.
    pub async fn create_customer(
        &self,
        actor: Actor,
        email: &str,
        name: &str,
        password: Option<&str>,
    ) -> AppResult<Customer> {
        Self::require_user(actor, "customers")?;
        if password.is_some() {
            Self::require_admin(actor).map_err(|_| {
                AppError::Forbidden("only an admin may give a customer a password; invite them instead")
            })?;
        }
        let email = EmailAddress::parse("email", email)?;
        let name = parse_name("name", name)?;
        let password_hash = match password {
            Some(p) => {
                validate_password("password", p)?;
                Some(crate::hash_password(p).await?)
            }
            None => None,
        };
        let organization_id = self.store.organization_by_domain(email.domain()).await?.map(|o| o.id);
        let customer = NewCustomer { email: Some(email), name, organization_id, password_hash, created_at: self.now() };
        self.store.insert_customer(customer).await.map_err(AppError::from_store("customer"))
    }

    /// A page of customers, by name, optionally those whose name or address contains `search`.
    /// `cursor` is the `next_cursor` of the page before.
    pub async fn customers(
        &self,
        actor: Actor,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> AppResult<CustomerPage> {
        Self::require_user(actor, "customers")?;
        if !(1..=MAX_CUSTOMER_PAGE).contains(&limit) {
            return Err(ValidationError::new("limit", format!("must be between 1 and {MAX_CUSTOMER_PAGE}")).into());
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > MAX_NAME_CHARS) {
            return Err(ValidationError::new("q", format!("must be at most {MAX_NAME_CHARS} characters")).into());
        }
        let after = cursor.map(decode_cursor).transpose()?;
        let reach = self.customer_reach(actor).await?;
        let reach = reach.as_ref().map(|(user, projects)| CustomerReach { user: *user, projects });
        let after = after.as_ref().map(|(name, id)| (name.as_str(), *id));
        let customers = self.store.customers_page(search, after, reach, limit).await?;
        let next_cursor = match customers.last() {
            Some(last) if customers.len() as i64 == limit => Some(encode_cursor(&last.name, last.id)),
            _ => None,
        };
        Ok(CustomerPage { customers, next_cursor })
    }

    /// A customer, to that customer and to users whose reach covers them (R37).
    pub async fn customer(&self, actor: Actor, id: CustomerId) -> AppResult<Customer> {
        match actor {
            Actor::Customer { id: me } if me != id => return Err(AppError::NotFound("customer")),
            Actor::Customer { .. } => {}
            Actor::User { .. } => {
                if self.customers_reached(actor, &[id]).await?.is_empty() {
                    return Err(AppError::NotFound("customer"));
                }
            }
        }
        self.store.customer(id).await.map_err(AppError::from_store("customer"))
    }

    /// R37: the projects and the user a limited user's reach among customers is read with;
    /// `None` for admins and users who see all projects, who reach every customer.
    pub(crate) async fn customer_reach(&self, actor: Actor) -> AppResult<Option<(UserId, Vec<ProjectId>)>> {
        let Actor::User { id, role, .. } = actor else { return Ok(None) };
        let profile = self.store.user_profile(id).await?;
        Ok(match (role, profile.preferences.scope) {
            (Role::Admin, _) | (_, preferences::Scope::AllProjects) => None,
            _ => Some((id, profile.followed_projects)),
        })
    }

    /// R37: those of `customers` the asking user reaches (every one for admins and users who
    /// see all projects). The one rule for every route that names customers to a user.
    pub(crate) async fn customers_reached(&self, actor: Actor, customers: &[CustomerId]) -> AppResult<Vec<CustomerId>> {
        Self::require_user(actor, "customer")?;
        match self.customer_reach(actor).await? {
            None => Ok(customers.to_vec()),
            Some((user, projects)) => {
                Ok(self.store.customers_within(CustomerReach { user, projects: &projects }, customers).await?)
            }
        }
    }
}
