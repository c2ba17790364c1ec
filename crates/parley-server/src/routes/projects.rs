//! Projects, their members and followers.

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::App;
use parley_domain::*;
use parley_store::ProjectRole;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProjectBody {
    pub name: String,
}

/// A member (`user`, `team`) or follower (`user`, `customer`, `organization`) of a project: the
/// same shape as the people of items and conversations.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPersonBody {
    /// `member` or `follower`.
    pub role: String,
    pub party: ProjectParty,
}

/// Who joins a project: a person, a team or a whole organization.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectParty {
    /// `user`, `team`, `customer` or `organization`.
    pub kind: String,
    pub id: i64,
}

pub(crate) fn project_role(role: &str, kind: &str, id: i64) -> ApiResult<ProjectRole> {
    Ok(match (role, kind) {
        ("member", "user") => ProjectRole::MemberUser(UserId(id)),
        ("member", "team") => ProjectRole::MemberTeam(TeamId(id)),
        ("follower", "user") => ProjectRole::FollowerUser(UserId(id)),
        ("follower", "customer") => ProjectRole::FollowerCustomer(CustomerId(id)),
        ("follower", "organization") => ProjectRole::FollowerOrganization(OrganizationId(id)),
        _ => {
            return Err(ApiError::from(ValidationError::new(
                "role",
                "members are users or teams; followers are users, customers or organizations",
            )))
        }
    })
}

/// All projects.
#[utoipa::path(get, path = "/api/v1/projects", tag = "work", responses((status = 200, body = Vec<Project>)))]
pub async fn projects(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Json<Vec<Project>>> {
    Ok(Json(app.projects(actor).await?))
}

/// Create a project; its creator becomes a member and follower.
#[utoipa::path(post, path = "/api/v1/projects", request_body = NewProjectBody, tag = "work", responses((status = 201, body = Project)))]
pub async fn create_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Json(b): Json<NewProjectBody>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    Ok((StatusCode::CREATED, Json(app.create_project(actor, &b.name).await?)))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Project)))]
pub async fn project(State(app): State<App>, Auth(actor): Auth, Path(id): Path<i64>) -> ApiResult<Json<Project>> {
    Ok(Json(app.project(actor, ProjectId(id)).await?))
}

/// Add a member or follower.
#[utoipa::path(post, operation_id = "add_project_person", path = "/api/v1/projects/{id}/people", request_body = ProjectPersonBody, tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Project)))]
pub async fn add_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    Json(b): Json<ProjectPersonBody>,
) -> ApiResult<Json<Project>> {
    let role = project_role(&b.role, &b.party.kind, b.party.id)?;
    Ok(Json(app.set_project_role(actor, ProjectId(id), role, true).await?))
}

/// Remove a member or follower.
#[utoipa::path(delete, operation_id = "remove_project_person", path = "/api/v1/projects/{id}/people/{role}/{kind}/{party_id}", tag = "work",
    params(("id" = i64, Path), ("role" = String, Path), ("kind" = String, Path), ("party_id" = i64, Path)), responses((status = 200, body = Project)))]
pub async fn remove_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, role, kind, party)): Path<(i64, String, String, i64)>,
) -> ApiResult<Json<Project>> {
    let role = project_role(&role, &kind, party)?;
    Ok(Json(app.set_project_role(actor, ProjectId(id), role, false).await?))
}
