//! Users and their preferences, teams, organizations and customers.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, CustomerPage};
use parley_domain::preferences::{CustomerMessages, RepliesToCustomers, Scope};
use parley_domain::*;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
    #[serde(default = "member")]
    pub role: Role,
    /// The password the admin hands over. Left out, the user is emailed a welcome with a link to
    /// choose their own (R31), valid for 7 days.
    #[serde(default)]
    #[schema(schema_with = crate::schema::password_or_null)]
    pub password: Option<String>,
}

fn member() -> Role {
    Role::Member
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(schema_with = crate::schema::name_or_null)]
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `false` deactivates the user: their sessions and API tokens end at once, they cannot log
    /// in, receive nothing and cannot be mentioned or added anywhere; `true` reactivates them.
    pub active: Option<bool>,
}

/// Any subset of the preferences; the rest stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesPatch {
    pub scope: Option<Scope>,
    pub show_from_customers: Option<bool>,
    pub customer_messages: Option<CustomerMessages>,
    pub replies_to_customers: Option<RepliesToCustomers>,
    pub followed_internal: Option<bool>,
    pub sound: Option<bool>,
    pub email_assignment_changes: Option<bool>,
    pub email_new_members: Option<bool>,
    pub auto_accept_invitations: Option<bool>,
    /// Turns every notification off at once (R24).
    pub all_off: Option<bool>,
}

impl PreferencesPatch {
    fn apply(self, p: Preferences) -> Preferences {
        let p = if self.all_off == Some(true) { p.all_off() } else { p };
        Preferences {
            scope: self.scope.unwrap_or(p.scope),
            show_from_customers: self.show_from_customers.unwrap_or(p.show_from_customers),
            customer_messages: self.customer_messages.unwrap_or(p.customer_messages),
            replies_to_customers: self.replies_to_customers.unwrap_or(p.replies_to_customers),
            followed_internal: self.followed_internal.unwrap_or(p.followed_internal),
            sound: self.sound.unwrap_or(p.sound),
            email_assignment_changes: self.email_assignment_changes.unwrap_or(p.email_assignment_changes),
            email_new_members: self.email_new_members.unwrap_or(p.email_new_members),
            auto_accept_invitations: self.auto_accept_invitations.unwrap_or(p.auto_accept_invitations),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMemberBody {
    pub user_id: UserId,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganizationBody {
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
    /// Customers with an email at this domain join the organization.
    #[schema(schema_with = crate::schema::domain)]
    pub domain: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerBody {
    #[schema(schema_with = crate::schema::email)]
    pub email: String,
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
    /// Lets the customer log in to the portal.
    #[schema(schema_with = crate::schema::password_or_null)]
    pub password: Option<String>,
}

/// All users.
#[utoipa::path(get, path = "/api/v1/users", tag = "people", responses((status = 200, body = Vec<User>)))]
pub async fn users(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(app.users(actor).await?))
}

/// Add a user (admins). Without a password, a welcome email with a set-password link is sent.
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserBody, tag = "people", responses((status = 201, body = User)))]
pub async fn create_user(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NewUserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = app.create_user(actor, &b.email, &b.name, b.role, b.password.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "people", params(("id" = i64, Path)), responses((status = 200, body = User)))]
pub async fn user(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Json<User>> {
    Ok(Json(app.user(actor, UserId(id)).await?))
}

/// Rename a user or change their role (admins).
#[utoipa::path(patch, path = "/api/v1/users/{id}", request_body = UserPatch, tag = "people", params(("id" = i64, Path)), responses((status = 200, body = User)))]
pub async fn update_user(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<UserPatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(app.update_user(actor, UserId(id), b.name.as_deref(), b.role, b.active).await?))
}

/// A user's notification and email preferences (their own, or anyone's for an admin).
#[utoipa::path(get, path = "/api/v1/users/{id}/preferences", tag = "people", params(("id" = i64, Path)), responses((status = 200, body = Preferences)))]
pub async fn preferences(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
) -> ApiResult<Json<Preferences>> {
    Ok(Json(app.preferences(actor, UserId(id)).await?))
}

/// Change preferences; only an admin changes `scope`.
#[utoipa::path(patch, path = "/api/v1/users/{id}/preferences", request_body = PreferencesPatch, tag = "people", params(("id" = i64, Path)), responses((status = 200, body = Preferences)))]
pub async fn update_preferences(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(patch): Json<PreferencesPatch>,
) -> ApiResult<Json<Preferences>> {
    let current = app.preferences(actor, UserId(id)).await?;
    Ok(Json(app.set_preferences(actor, UserId(id), patch.apply(current)).await?))
}

/// All teams.
#[utoipa::path(get, path = "/api/v1/teams", tag = "people", responses((status = 200, body = Vec<Team>)))]
pub async fn teams(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(app.teams(actor).await?))
}

/// Add a team (admins).
#[utoipa::path(post, path = "/api/v1/teams", request_body = NameBody, tag = "people", responses((status = 201, body = Team)))]
pub async fn create_team(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NameBody>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    Ok((StatusCode::CREATED, Json(app.create_team(actor, &b.name).await?)))
}

/// Add a user to a team (admins).
#[utoipa::path(post, path = "/api/v1/teams/{id}/members", request_body = TeamMemberBody, tag = "people", params(("id" = i64, Path)), responses((status = 200, body = Team)))]
pub async fn add_team_member(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<TeamMemberBody>,
) -> ApiResult<Json<Team>> {
    Ok(Json(app.set_team_member(actor, TeamId(id), b.user_id, true).await?))
}

/// Remove a user from a team (admins).
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "people", params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 200, body = Team)))]
pub async fn remove_team_member(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, user)): Path<(Id, Id)>,
) -> ApiResult<Json<Team>> {
    let (id, user) = (id.0, user.0);
    Ok(Json(app.set_team_member(actor, TeamId(id), UserId(user), false).await?))
}

/// All customer organizations.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "people", responses((status = 200, body = Vec<Organization>)))]
pub async fn organizations(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<Organization>>> {
    Ok(Json(app.organizations(actor).await?))
}

/// Add a customer organization (admins).
#[utoipa::path(post, path = "/api/v1/organizations", request_body = NewOrganizationBody, tag = "people", responses((status = 201, body = Organization)))]
pub async fn create_organization(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NewOrganizationBody>,
) -> ApiResult<(StatusCode, Json<Organization>)> {
    Ok((StatusCode::CREATED, Json(app.create_organization(actor, &b.name, &b.domain).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomerListQuery {
    /// Only customers whose name or address contains this.
    pub q: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// 1 to 200; 50 if not given.
    #[param(minimum = 1, maximum = 200)]
    #[serde(default, deserialize_with = "crate::extract::whole_or_none")]
    pub limit: Option<i64>,
}

/// Customers by name, a page at a time (R39: no list without bounds).
#[utoipa::path(get, path = "/api/v1/customers", tag = "people", params(CustomerListQuery),
    responses((status = 200, body = CustomerPage), (status = 400, body = crate::error::ErrorBody)))]
pub async fn customers(
    State(app): State<App>,
    Auth(actor): Auth,
    Query(q): Query<CustomerListQuery>,
) -> ApiResult<Json<CustomerPage>> {
    let page = app.customers(actor, q.q.as_deref(), q.cursor.as_deref(), q.limit.unwrap_or(50)).await?;
    Ok(Json(page))
}

/// Add a customer; one whose email domain matches an organization joins it.
#[utoipa::path(post, path = "/api/v1/customers", request_body = NewCustomerBody, tag = "people", responses((status = 201, body = Customer)))]
pub async fn create_customer(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NewCustomerBody>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    let c = app.create_customer(actor, &b.email, &b.name, b.password.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "people", params(("id" = i64, Path)), responses((status = 200, body = Customer)))]
pub async fn customer(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Json<Customer>> {
    Ok(Json(app.customer(actor, CustomerId(id)).await?))
}
