//! Projects and items.

use crate::errors::{other, retrying};
use crate::names::DbConnection;
use crate::rows::{self, get, ids_of, parties, people, set_person};
use crate::SqlStore;
use async_trait::async_trait;
use parley_domain::*;
use parley_store::*;
use parley_store_sql::Engine;

pub(crate) async fn load_project(conn: &mut DbConnection, id: ProjectId) -> StoreResult<Project> {
    let row = sqlx::query("SELECT id, name, created_at FROM projects WHERE id = $1")
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)?;
    let members = people(conn, "project_people", "project_id", id.0, "member").await?;
    let followers = people(conn, "project_people", "project_id", id.0, "follower").await?;
    Ok(Project {
        id,
        name: get(&row, "name")?,
        created_at: get(&row, "created_at")?,
        member_users: ids_of(&members, "user", UserId),
        member_teams: ids_of(&members, "team", TeamId),
        follower_users: ids_of(&followers, "user", UserId),
        follower_customers: ids_of(&followers, "customer", CustomerId),
        follower_organizations: ids_of(&followers, "organization", OrganizationId),
    })
}

pub(crate) async fn load_item(conn: &mut DbConnection, id: ItemId) -> StoreResult<Item> {
    let row = sqlx::query("SELECT * FROM items WHERE id = $1").bind(id.0).fetch_one(&mut *conn).await.map_err(other)?;
    let requesters = people(conn, "item_people", "item_id", id.0, "requester").await?;
    let assignees = people(conn, "item_people", "item_id", id.0, "assignee").await?;
    let followers = people(conn, "item_people", "item_id", id.0, "follower").await?;
    Ok(Item {
        id,
        project_id: ProjectId(get(&row, "project_id")?),
        kind: rows::parse(&row, "kind", ItemKind::parse)?,
        title: get(&row, "title")?,
        status: rows::parse(&row, "status", ItemStatus::parse)?,
        created_by: Party::from_parts(&get::<String>(&row, "created_by_kind")?, get(&row, "created_by_id")?)
            .ok_or_else(|| crate::errors::corrupt("created_by_kind"))?,
        created_at: get(&row, "created_at")?,
        requesters: ids_of(&requesters, "customer", CustomerId),
        assignees: ids_of(&assignees, "user", UserId),
        followers: parties(followers),
    })
}

/// Inserts an item whose creator, requesters and assignees follow it.
pub(crate) async fn insert_item(conn: &mut DbConnection, item: NewItem) -> StoreResult<Item> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO items (project_id, kind, title, status, created_by_kind, created_by_id, created_at)
         VALUES ($1, $2, $3, 'open', $4, $5, $6) RETURNING id",
    )
    .bind(item.project_id.0)
    .bind(item.kind.as_str())
    .bind(&item.title)
    .bind(item.created_by.kind_str())
    .bind(item.created_by.raw_id())
    .bind(item.created_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(other)?;
    let creator = (item.created_by.kind_str(), item.created_by.raw_id());
    set_person(conn, "item_people", "item_id", id, "follower", creator, true).await?;
    for c in &item.requesters {
        set_item_role(conn, ItemId(id), ItemRole::Requester, Party::Customer(*c), true).await?;
    }
    for u in &item.assignees {
        set_item_role(conn, ItemId(id), ItemRole::Assignee, Party::User(*u), true).await?;
    }
    load_item(conn, ItemId(id)).await
}

pub(crate) async fn set_item_role(
    conn: &mut DbConnection,
    id: ItemId,
    role: ItemRole,
    party: Party,
    on: bool,
) -> StoreResult<()> {
    let role_name = match role {
        ItemRole::Follower => "follower",
        ItemRole::Requester => "requester",
        ItemRole::Assignee => "assignee",
    };
    let who = (party.kind_str(), party.raw_id());
    set_person(&mut *conn, "item_people", "item_id", id.0, role_name, who, on).await?;
    // Requesters and assignees follow the item (§2); removing them leaves them following.
    if on && role != ItemRole::Follower {
        set_person(conn, "item_people", "item_id", id.0, "follower", who, true).await?;
    }
    Ok(())
}

impl SqlStore {
    /// The items with these ids, in the order given.
    async fn load_items(&self, ids: Vec<i64>) -> StoreResult<Vec<Item>> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(load_item(&mut conn, ItemId(id)).await?);
        }
        Ok(out)
    }
}

#[async_trait]
impl WorkStore for SqlStore {
    async fn insert_project(&self, name: &str, creator: UserId, created_at: i64) -> StoreResult<Project> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let id: i64 = sqlx::query_scalar("INSERT INTO projects (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(other)?;
        for role in ["member", "follower"] {
            set_person(&mut tx, "project_people", "project_id", id, role, ("user", creator.0), true).await?;
        }
        let p = load_project(&mut tx, ProjectId(id)).await?;
        tx.commit().await.map_err(other)?;
        Ok(p)
    }

    async fn project(&self, id: ProjectId) -> StoreResult<Project> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        load_project(&mut conn, id).await
    }

    async fn projects(&self) -> StoreResult<Vec<Project>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM projects ORDER BY name, id")
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        let mut conn = self.reader.acquire().await.map_err(other)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(load_project(&mut conn, ProjectId(id)).await?);
        }
        Ok(out)
    }

    async fn set_project_role(&self, project: ProjectId, role: ProjectRole, on: bool) -> StoreResult<Project> {
        // It refreshes several conversations: run again if it meets a concurrent write in a deadlock.
        retrying(|| async move {
            let (role_name, who) = match role {
                ProjectRole::MemberUser(u) => ("member", ("user", u.0)),
                ProjectRole::MemberTeam(t) => ("member", ("team", t.0)),
                ProjectRole::FollowerUser(u) => ("follower", ("user", u.0)),
                ProjectRole::FollowerCustomer(c) => ("follower", ("customer", c.0)),
                ProjectRole::FollowerOrganization(o) => ("follower", ("organization", o.0)),
            };
            let mut tx = self.writer.begin().await.map_err(other)?;
            let mut tallies = crate::inbox::Tallies::default();
            load_project(&mut tx, project).await?;
            set_person(&mut tx, "project_people", "project_id", project.0, role_name, who, on).await?;
            let conversations: Vec<i64> = sqlx::query_scalar("SELECT id FROM conversations WHERE project_id = $1")
                .bind(project.0)
                .fetch_all(&mut *tx)
                .await
                .map_err(other)?;
            let people = crate::inbox::members_of(&mut tx, who).await?;
            crate::inbox::refresh(&mut tx, &conversations, crate::inbox::Who::Only(people), &mut tallies).await?;
            let p = load_project(&mut tx, project).await?;
            self.commit(tx, tallies).await?;
            Ok(p)
        })
        .await
    }

    async fn insert_item(&self, item: NewItem) -> StoreResult<Item> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let item = insert_item(&mut tx, item).await?;
        tx.commit().await.map_err(other)?;
        Ok(item)
    }

    async fn item(&self, id: ItemId) -> StoreResult<Item> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        load_item(&mut conn, id).await
    }

    async fn items(&self, project: ProjectId) -> StoreResult<Vec<Item>> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM items WHERE project_id = $1 ORDER BY id DESC")
            .bind(project.0)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        self.load_items(ids).await
    }

    async fn customer_items(&self, customer: CustomerId) -> StoreResult<Vec<Item>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT i.id FROM items i WHERE
               EXISTS (SELECT 1 FROM item_people ip WHERE ip.item_id = i.id
                       AND ip.party_kind = 'customer' AND ip.party_id = $1)
               OR EXISTS (SELECT 1 FROM project_people pp WHERE pp.project_id = i.project_id AND pp.role = 'follower'
                       AND ((pp.party_kind = 'customer' AND pp.party_id = $1)
                         OR (pp.party_kind = 'organization'
                             AND pp.party_id = (SELECT organization_id FROM customers WHERE id = $1))))
             ORDER BY i.id DESC",
        )
        .bind(customer.0)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        self.load_items(ids).await
    }

    async fn update_item(&self, id: ItemId, patch: ItemPatch) -> StoreResult<Item> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let done =
            sqlx::query("UPDATE items SET title = COALESCE($1, title), status = COALESCE($2, status) WHERE id = $3")
                .bind(patch.title)
                .bind(patch.status.map(ItemStatus::as_str))
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let item = load_item(&mut tx, id).await?;
        tx.commit().await.map_err(other)?;
        Ok(item)
    }

    async fn set_item_role(&self, id: ItemId, role: ItemRole, party: Party, on: bool) -> StoreResult<Item> {
        // It refreshes several conversations: run again if it meets a concurrent write in a deadlock.
        retrying(|| async move {
            let mut tx = self.writer.begin().await.map_err(other)?;
            let mut tallies = crate::inbox::Tallies::default();
            load_item(&mut tx, id).await?;
            set_item_role(&mut tx, id, role, party, on).await?;
            let conversations: Vec<i64> = sqlx::query_scalar("SELECT id FROM conversations WHERE item_id = $1")
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await
                .map_err(other)?;
            crate::inbox::refresh(&mut tx, &conversations, crate::inbox::Who::Only(vec![party]), &mut tallies).await?;
            let item = load_item(&mut tx, id).await?;
            self.commit(tx, tallies).await?;
            Ok(item)
        })
        .await
    }
}
