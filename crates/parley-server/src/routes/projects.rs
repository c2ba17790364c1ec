//! Projects, their members and followers.

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use parley_app::{App, AppError};
use parley_domain::*;
use parley_store::ProjectRole;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProjectBody {
    #[schema(schema_with = crate::schema::name)]
    pub name: String,
}

/// A member (a user or a team) or a follower (a user, a customer or an organization) of a project:
/// `{"role", "party": {"kind", "id"}}`, the shape of the people of items and conversations.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ProjectPersonBody {
    Member { party: ProjectMember },
    Follower { party: ProjectFollower },
}

/// Who may be a member of a project.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProjectMember {
    User { id: UserId },
    Team { id: TeamId },
}

/// Who may follow a project (to follow it is to have it shared with them, for customers).
#[derive(Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProjectFollower {
    User { id: UserId },
    Customer { id: CustomerId },
    Organization { id: OrganizationId },
}

impl From<ProjectPersonBody> for ProjectRole {
    fn from(b: ProjectPersonBody) -> Self {
        match b {
            ProjectPersonBody::Member { party: ProjectMember::User { id } } => ProjectRole::MemberUser(id),
            ProjectPersonBody::Member { party: ProjectMember::Team { id } } => ProjectRole::MemberTeam(id),
            ProjectPersonBody::Follower { party: ProjectFollower::User { id } } => ProjectRole::FollowerUser(id),
            ProjectPersonBody::Follower { party: ProjectFollower::Customer { id } } => {
                ProjectRole::FollowerCustomer(id)
            }
            ProjectPersonBody::Follower { party: ProjectFollower::Organization { id } } => {
                ProjectRole::FollowerOrganization(id)
            }
        }
    }
}

/// A project role, in the path that removes one.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ProjectRoleName {
    Member,
    Follower,
}

/// Who holds a project role, in the path that removes one.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ProjectPartyKind {
    User,
    Team,
    Customer,
    Organization,
}

/// The role a removal names; a combination nobody can hold (a customer member) is not found.
fn project_role(role: ProjectRoleName, kind: ProjectPartyKind, id: i64) -> ApiResult<ProjectRole> {
    use ProjectPartyKind as K;
    Ok(match (role, kind) {
        (ProjectRoleName::Member, K::User) => ProjectRole::MemberUser(UserId(id)),
        (ProjectRoleName::Member, K::Team) => ProjectRole::MemberTeam(TeamId(id)),
        (ProjectRoleName::Follower, K::User) => ProjectRole::FollowerUser(UserId(id)),
        (ProjectRoleName::Follower, K::Customer) => ProjectRole::FollowerCustomer(CustomerId(id)),
        (ProjectRoleName::Follower, K::Organization) => ProjectRole::FollowerOrganization(OrganizationId(id)),
        (ProjectRoleName::Member, K::Customer | K::Organization) | (ProjectRoleName::Follower, K::Team) => {
            return Err(AppError::NotFound("project member").into())
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
pub async fn project(State(app): State<App>, Auth(actor): Auth, Path(Id(id)): Path<Id>) -> ApiResult<Json<Project>> {
    Ok(Json(app.project(actor, ProjectId(id)).await?))
}

/// Add a member or follower.
#[utoipa::path(post, operation_id = "add_project_person", path = "/api/v1/projects/{id}/people", request_body = ProjectPersonBody, tag = "work", params(("id" = i64, Path)), responses((status = 200, body = Project)))]
pub async fn add_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(Id(id)): Path<Id>,
    Json(b): Json<ProjectPersonBody>,
) -> ApiResult<Json<Project>> {
    let role = ProjectRole::from(b);
    Ok(Json(app.set_project_role(actor, ProjectId(id), role, true).await?))
}

/// Remove a member or follower.
#[utoipa::path(delete, operation_id = "remove_project_person", path = "/api/v1/projects/{id}/people/{role}/{kind}/{party_id}", tag = "work",
    params(("id" = i64, Path), ("role" = ProjectRoleName, Path), ("kind" = ProjectPartyKind, Path), ("party_id" = i64, Path)), responses((status = 200, body = Project)))]
pub async fn remove_person(
    State(app): State<App>,
    Auth(actor): Auth,
    Path((id, role, kind, party)): Path<(Id, ProjectRoleName, ProjectPartyKind, Id)>,
) -> ApiResult<Json<Project>> {
    let (id, party) = (id.0, party.0);
    let role = project_role(role, kind, party)?;
    Ok(Json(app.set_project_role(actor, ProjectId(id), role, false).await?))
}
