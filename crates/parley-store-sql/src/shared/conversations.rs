//! Conversations and messages.

use crate::attachments;
use crate::errors::{other, retrying};
use crate::inbox::{self, Who};
use crate::names::DbConnection;
use crate::rows::{self, get, parties, people, people_with_roles, set_person, HEADER_COLUMNS};
use crate::work::{insert_item, load_item, set_item_role};
use crate::SqlStore;
use crate::B;
use async_trait::async_trait;
use parley_domain::audience::Recipient;
use parley_domain::delivery::{EmailPlan, EmailState};
use parley_domain::inbox::SharedFacts;
use parley_domain::*;
use parley_store::inbox_rows::Posted;
use parley_store::*;
use parley_store_sql::{Backend, Engine};
use sqlx::QueryBuilder;
use std::collections::BTreeSet;
use std::sync::LazyLock;

async fn load_conversation(conn: &mut DbConnection, id: ConversationId) -> StoreResult<Conversation> {
    let row = sqlx::query(&format!("SELECT {HEADER_COLUMNS} FROM conversations c WHERE c.id = $1"))
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)?;
    let (mut participants, mut followers, mut taking_part) = (Vec::new(), Vec::new(), Vec::new());
    let mut assignees = Vec::new();
    for (role, party) in people_with_roles(conn, "conversation_people", "conversation_id", id.0).await? {
        match (role.as_str(), party) {
            ("participant", party) => participants.push(party),
            ("follower", party) => followers.push(party),
            (TAKING_PART, Party::User(user)) => taking_part.push(user),
            (ASSIGNEE, Party::User(user)) => assignees.push(user),
            _ => {}
        }
    }
    let header = rows::header(&row)?;
    // R42: a linked conversation's assignees are its item's.
    if let Some(Link::Item(item)) = header.link {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT party_id FROM item_people WHERE item_id = $1 AND role = 'assignee' AND party_kind = 'user'
             ORDER BY party_id",
        )
        .bind(item.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
        assignees = ids.into_iter().map(UserId).collect();
    }
    Ok(Conversation { header, participants, followers, taking_part, assignees })
}

/// The conversation with the followers of what it hangs off (and the item's requesters).
async fn people_of(conn: &mut DbConnection, id: ConversationId) -> StoreResult<ConversationPeople> {
    let conversation = load_conversation(conn, id).await?;
    let (item_followers, requesters) = match conversation.header.link {
        Some(Link::Item(item)) => {
            let (mut followers, mut requesters) = (Vec::new(), Vec::new());
            for (role, party) in people_with_roles(conn, "item_people", "item_id", item.0).await? {
                match (role.as_str(), party) {
                    ("follower", party) => followers.push(party),
                    ("requester", Party::Customer(customer)) => requesters.push(customer),
                    _ => {}
                }
            }
            (followers, requesters)
        }
        Some(Link::Project(project)) => {
            let direct = parties(people(conn, "project_people", "project_id", project.0, "follower").await?);
            let via_org: Vec<i64> = sqlx::query_scalar(
                "SELECT cu.id FROM customers cu JOIN project_people pp ON pp.party_id = cu.organization_id
                 WHERE pp.project_id = $1 AND pp.role = 'follower' AND pp.party_kind = 'organization'",
            )
            .bind(project.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
            let followers = direct.into_iter().chain(via_org.into_iter().map(|c| Party::Customer(CustomerId(c))));
            (followers.collect(), vec![])
        }
        None => (vec![], vec![]),
    };
    Ok(ConversationPeople { conversation, item_followers, requesters })
}

async fn project_of_item(conn: &mut DbConnection, item: ItemId) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT project_id FROM items WHERE id = $1").bind(item.0).fetch_one(conn).await.map_err(other)
}

fn conversation_role(participant: bool) -> &'static str {
    if participant {
        "participant"
    } else {
        "follower"
    }
}

async fn mark_read(
    conn: &mut DbConnection,
    id: ConversationId,
    party: Party,
    number: i64,
    now: i64,
) -> StoreResult<(i64, Vec<SeenReceipt>)> {
    // A customer's position counts the messages they may read (their numbers, R7, R33): never past
    // one still held.
    let last = if party.is_customer() {
        format!("(SELECT COUNT(*) FROM {} AS numbered)", rows::customer_numbered("$1", "$5"))
    } else {
        // Walks the numbers backwards from the latest: no scan of the whole conversation.
        "COALESCE((SELECT number FROM messages WHERE conversation_id = $1 AND withdrawn_at IS NULL
                   ORDER BY number DESC LIMIT 1), 0)"
            .into()
    };
    let position: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO conversation_reads (conversation_id, party_kind, party_id, last_seen_number)
         VALUES ($1, $2, $3, {least}($4, {last}))
         ON CONFLICT (conversation_id, party_kind, party_id)
         DO UPDATE SET last_seen_number = {greatest}(conversation_reads.last_seen_number, excluded.last_seen_number)
         RETURNING last_seen_number",
        least = B::LEAST,
        greatest = B::GREATEST
    ))
    .bind(id.0)
    .bind(party.kind_str())
    .bind(party.raw_id())
    .bind(number)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(other)?;
    // R13: reading up to a message is seeing every message up to it that the reader can see.
    // Only the person's own rows of this conversation are visited (`message_recipients_party`),
    // not every message up to the position.
    let seen = crate::delivery::mark_seen_where(conn, party, now, |q| {
        q.push("conversation_id = ").push_bind(id.0).push(" AND ");
        if party.is_customer() {
            // `UNINDEXED` keeps SQLite on the person's rows rather than listing the
            // conversation's messages first.
            static NUMBERED: LazyLock<String> = LazyLock::new(|| {
                let numbered = rows::customer_numbered("{0}", "{1}");
                format!(
                    "{}message_id IN (SELECT id FROM {numbered} AS numbered WHERE customer_number <= ",
                    B::UNINDEXED
                )
            });
            rows::push_fragment(q, &NUMBERED, &[id.0, now]);
            q.push_bind(position).push(")");
        } else {
            q.push("(SELECT m.number FROM messages m WHERE m.id = message_recipients.message_id) <= ")
                .push_bind(position);
        }
    })
    .await?;
    Ok((position, seen))
}

/// Stores one message inside the transaction `tx` (see `ConversationStore::insert_message`). A
/// locked or missing conversation is refused before anything is written, so the transaction
/// stays usable for the other posts of its group.
pub(crate) async fn insert_in(
    tx: &mut DbConnection,
    m: &NewMessage,
    tallies: &mut inbox::Tallies,
) -> StoreResult<Message> {
    // A post naming files that are not its author's unsent uploads keeps nothing either.
    attachments::check_unsent(tx, m).await?;
    // R6: a locked conversation keeps nothing of this message; the update leaves it alone, and
    // `state` comes back as it was. The last author is a person's: R26's "unanswered" waits for
    // a user's reply, which a bot's automatic one is not.
    static COUNT_MESSAGE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE conversations SET message_count = message_count + 1,
               last_activity_at = {}(last_activity_at, $1),
               last_author_kind = CASE WHEN $2 = 'bot' THEN last_author_kind ELSE $2 END,
               origin = COALESCE(origin, $4)
             WHERE id = $3 AND state <> 'locked' RETURNING message_count, state, visibility, last_author_kind",
            B::GREATEST
        )
    });
    let row = sqlx::query(&COUNT_MESSAGE)
        .bind(m.created_at)
        .bind(m.author.kind().as_str())
        .bind(m.conversation_id.0)
        .bind(m.channel.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    let Some(row) = row else {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM conversations WHERE id = $1")
            .bind(m.conversation_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
        return Err(if exists.is_some() { StoreError::Locked } else { StoreError::NotFound });
    };
    let number: i64 = get(&row, "message_count")?;
    let state = rows::parse(&row, "state", ConversationState::parse)?;
    let visibility = rows::parse(&row, "visibility", Visibility::parse)?;
    let last_author: Option<String> = get(&row, "last_author_kind")?;
    let last_author = last_author.as_deref().and_then(AuthorKind::parse);
    let new_state = state::on_new_message(state, m.author).map_err(|_| StoreError::Locked)?;
    if new_state != state {
        sqlx::query("UPDATE conversations SET state = $1 WHERE id = $2")
            .bind(new_state.as_str())
            .bind(m.conversation_id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        record_state_change(&mut *tx, m.conversation_id, new_state, m.author, m.created_at).await?;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, number, author_kind, author_id, visibility, body, body_html, channel,
           created_at, held_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(m.conversation_id.0)
    .bind(number)
    .bind(m.author.kind().as_str())
    .bind(m.author.raw_id())
    .bind(visibility.as_str())
    .bind(&m.body)
    .bind(&m.body_html)
    .bind(m.channel.as_str())
    .bind(m.created_at)
    .bind(m.held_until)
    .fetch_one(&mut *tx)
    .await
    .map_err(other)?;
    if !m.audience.recipients.is_empty() {
        // R14: the email jobs the app planned are stored with the message, in the same
        // transaction; R34: each joins the email its recipient's earlier messages of the
        // conversation wait for, if close.
        if m.email_plans.len() != m.audience.recipients.len() {
            return Err(StoreError::message("a new message needs one email plan for each recipient"));
        }
        let mut plans = m.email_plans.clone();
        join_bursts(tx, m, &mut plans).await?;
        let mut insert = QueryBuilder::new(
            "INSERT INTO message_recipients (message_id, conversation_id, party_kind, party_id, reasons, notify,
               email_state, email_reason, email_due_at, email_at) ",
        );
        insert.push_values(m.audience.recipients.iter().zip(&plans), |mut b, (r, plan)| {
            let reasons: Vec<&str> = r.reasons.iter().map(|x| x.as_str()).collect();
            let (state, reason, due, at) = match plan {
                EmailPlan::DueAt(due) => (EmailState::Pending, None, Some(*due), None),
                EmailPlan::Suppressed(why) => (EmailState::Suppressed, Some(why.as_str()), None, Some(m.created_at)),
            };
            b.push_bind(id)
                .push_bind(m.conversation_id.0)
                .push_bind(r.party.kind_str())
                .push_bind(r.party.raw_id())
                .push_bind(reasons.join(","))
                .push_bind(r.notify)
                .push_bind(state.as_str())
                .push_bind(reason)
                .push_bind(due)
                .push_bind(at);
        });
        insert.build().execute(&mut *tx).await.map_err(other)?;
    }
    for p in &m.new_followers {
        let who = (p.kind_str(), p.raw_id());
        set_person(tx, "conversation_people", "conversation_id", m.conversation_id.0, "follower", who, true).await?;
    }
    if let Author::User(user) = m.author {
        // R41: writing is taking part.
        let who = ("user", user.0);
        set_person(tx, "conversation_people", "conversation_id", m.conversation_id.0, TAKING_PART, who, true).await?;
    }
    if let Some(author) = m.author.party() {
        // A customer's message is the latest they may read: their position goes to the end.
        let up_to = if author.is_customer() { i64::MAX } else { number };
        mark_read(tx, m.conversation_id, author, up_to, m.created_at).await?;
    }
    // Everyone's row moves by the new message; new followers' rows are computed afresh, as
    // are those of the author and recipients if they had none.
    let recipients: Vec<Party> = m.audience.recipients.iter().map(|r| r.party).collect();
    let exact: BTreeSet<Party> = m.new_followers.iter().copied().collect();
    let posted = Posted {
        facts: SharedFacts { visibility, state: new_state, last_author },
        at: m.created_at,
        author: m.author.party(),
        customers_see: visibility == Visibility::Public && m.held_until.is_none(),
        recipients: &recipients,
    };
    let holders = inbox::restamp(tx, m.conversation_id, Some(posted), &exact, tallies).await?;
    let author = m.author.party();
    let missing = recipients.iter().chain(author.as_ref()).filter(|p| !holders.contains(p));
    let exact: Vec<Party> = exact.iter().chain(missing).copied().collect();
    inbox::refresh(tx, &[m.conversation_id.0], Who::Only(exact), tallies).await?;
    let attachments = attachments::take(tx, MessageId(id), &m.attachments).await?;
    Ok(Message {
        id: MessageId(id),
        conversation_id: m.conversation_id,
        number,
        author: m.author,
        visibility,
        body: m.body.clone(),
        body_html: m.body_html.clone(),
        channel: m.channel,
        created_at: m.created_at,
        held_until: m.held_until,
        attachments,
    })
}

impl SqlStore {
    /// Links a conversation to an item in one transaction. It refreshes the item's other
    /// conversations too, so every conversation it touches is locked first, in id order, as every
    /// other write locks them.
    async fn link_once(&self, id: ConversationId, target: LinkTarget) -> StoreResult<(Conversation, Item)> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut tallies = inbox::Tallies::default();
        let mut touched = vec![id.0];
        if let LinkTarget::Existing(item) = &target {
            let siblings: Vec<i64> = sqlx::query_scalar("SELECT id FROM conversations WHERE item_id = $1")
                .bind(item.0)
                .fetch_all(&mut *tx)
                .await
                .map_err(other)?;
            touched.extend(siblings);
        }
        touched.sort_unstable();
        B::lock_conversations(&mut tx, &touched).await?;
        let conv = load_conversation(&mut tx, id).await?;
        if conv.header.link.is_some() {
            return Err(StoreError::Conflict("link"));
        }
        let (item, is_new) = match target {
            LinkTarget::Existing(item) => (load_item(&mut tx, item).await?, false),
            LinkTarget::New(new) => (insert_item(&mut tx, new).await?, true),
        };
        sqlx::query("UPDATE conversations SET item_id = $1, project_id = $2 WHERE id = $3")
            .bind(item.id.0)
            .bind(item.project_id.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        for p in &conv.participants {
            set_item_role(&mut tx, item.id, ItemRole::Follower, *p, true).await?;
            if is_new && p.is_customer() {
                set_item_role(&mut tx, item.id, ItemRole::Requester, *p, true).await?;
            }
        }
        // R42: a linked conversation's assignees are its item's; the chat's go with it.
        for user in &conv.assignees {
            set_item_role(&mut tx, item.id, ItemRole::Assignee, Party::User(*user), true).await?;
        }
        sqlx::query(&format!("DELETE FROM conversation_people WHERE conversation_id = $1 AND role = '{ASSIGNEE}'"))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        // The project decides who may see it now, so everyone's row is recomputed; its
        // participants now follow the item, and so see its other conversations too.
        inbox::refresh(&mut tx, &[id.0], Who::Everyone, &mut tallies).await?;
        let siblings: Vec<i64> = sqlx::query_scalar("SELECT id FROM conversations WHERE item_id = $1 AND id <> $2")
            .bind(item.id.0)
            .bind(id.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(other)?;
        let moved = conv.participants.iter().copied().chain(conv.assignees.iter().map(|u| Party::User(*u)));
        inbox::refresh(&mut tx, &siblings, Who::Only(moved.collect()), &mut tallies).await?;
        let conv = load_conversation(&mut tx, id).await?;
        let item = load_item(&mut tx, item.id).await?;
        self.commit(tx, tallies).await?;
        Ok((conv, item))
    }
}

#[async_trait]
impl ConversationStore for SqlStore {
    async fn insert_conversation(&self, c: NewConversation) -> StoreResult<Conversation> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut tallies = inbox::Tallies::default();
        let (item_id, linked_project, project_id) = match c.link {
            Some(Link::Item(i)) => (Some(i.0), None, Some(project_of_item(&mut tx, i).await?)),
            Some(Link::Project(p)) => (None, Some(p.0), Some(p.0)),
            None => (None, None, None),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (subject, visibility, state, item_id, linked_project_id, project_id,
                 created_by_kind, created_by_id, created_at, last_activity_at)
             VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&c.subject)
        .bind(c.visibility.as_str())
        .bind(item_id)
        .bind(linked_project)
        .bind(project_id)
        .bind(c.created_by.kind().as_str())
        .bind(c.created_by.raw_id())
        .bind(c.created_at)
        .bind(c.created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(other)?;
        for (list, participant) in [(&c.participants, true), (&c.followers, false)] {
            for p in list {
                let who = (p.kind_str(), p.raw_id());
                set_person(
                    &mut tx,
                    "conversation_people",
                    "conversation_id",
                    id,
                    conversation_role(participant),
                    who,
                    true,
                )
                .await?;
            }
        }
        inbox::refresh(&mut tx, &[id], Who::Everyone, &mut tallies).await?;
        let conv = load_conversation(&mut tx, ConversationId(id)).await?;
        self.commit(tx, tallies).await?;
        Ok(conv)
    }

    async fn conversation(&self, id: ConversationId) -> StoreResult<Conversation> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        load_conversation(&mut conn, id).await
    }

    async fn conversation_people(&self, id: ConversationId) -> StoreResult<ConversationPeople> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        people_of(&mut conn, id).await
    }

    async fn post_context(
        &self,
        id: ConversationId,
        poster: Option<Party>,
        handles: &[String],
    ) -> StoreResult<PostContext> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        let people = people_of(&mut conn, id).await?;
        let relation = match poster {
            Some(poster) => crate::views::relation_on(&mut conn, id, poster).await?,
            None => parley_domain::access::Relation::default(),
        };
        let mentioned: Vec<UserId> =
            crate::people::users_by_handle(&mut conn, handles).await?.into_iter().map(|u| u.id).collect();
        let c = &people.conversation;
        let named: Vec<UserId> = people
            .item_followers
            .iter()
            .chain(&c.followers)
            .chain(&c.participants)
            .filter_map(|p| p.user())
            .chain(c.taking_part.iter().copied())
            .chain(mentioned.iter().copied())
            .chain(poster.and_then(|p| p.user()))
            .collect();
        let profiles = crate::people::audience_profiles(&mut conn, &named).await?;
        let (chat_ms, other_ms): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT chat_send_guard_ms, send_guard_ms FROM company WHERE id = 1")
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?
                .unwrap_or_default();
        let send_guards = SendGuards { chat_ms, other_ms };
        Ok(PostContext { people, relation, mentioned, profiles, send_guards })
    }

    async fn item_conversations(&self, item: ItemId) -> StoreResult<Vec<ConversationHeader>> {
        let rows = sqlx::query(&format!(
            "SELECT {HEADER_COLUMNS} FROM conversations c WHERE c.item_id = $1 ORDER BY c.last_activity_at DESC, c.id DESC"
        ))
        .bind(item.0)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        rows.iter().map(rows::header).collect()
    }

    async fn set_state(
        &self,
        id: ConversationId,
        from: ConversationState,
        to: ConversationState,
        by: Author,
        at: i64,
    ) -> StoreResult<Conversation> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut tallies = inbox::Tallies::default();
        let done = sqlx::query("UPDATE conversations SET state = $1 WHERE id = $2 AND state = $3")
            .bind(to.as_str())
            .bind(id.0)
            .bind(from.as_str())
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        let conv = load_conversation(&mut tx, id).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("state"));
        }
        record_state_change(&mut tx, id, to, by, at).await?;
        inbox::restamp(&mut tx, id, None, &BTreeSet::new(), &mut tallies).await?;
        self.commit(tx, tallies).await?;
        Ok(conv)
    }

    async fn state_changes(&self, id: ConversationId) -> StoreResult<Vec<StateChange>> {
        let rows = sqlx::query(
            "SELECT state, by_kind, by_id, at FROM conversation_state_changes WHERE conversation_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|row| {
                Ok(StateChange {
                    state: rows::parse(row, "state", ConversationState::parse)?,
                    by: rows::author(row, "by_kind", "by_id")?,
                    at: get(row, "at")?,
                })
            })
            .collect()
    }

    async fn set_conversation_party(
        &self,
        id: ConversationId,
        participant: bool,
        party: Party,
        on: bool,
    ) -> StoreResult<Conversation> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut tallies = inbox::Tallies::default();
        load_conversation(&mut tx, id).await?;
        let who = (party.kind_str(), party.raw_id());
        set_person(&mut tx, "conversation_people", "conversation_id", id.0, conversation_role(participant), who, on)
            .await?;
        let people = inbox::members_of(&mut tx, who).await?;
        inbox::refresh(&mut tx, &[id.0], Who::Only(people), &mut tallies).await?;
        let conv = load_conversation(&mut tx, id).await?;
        self.commit(tx, tallies).await?;
        Ok(conv)
    }

    async fn link_conversation(&self, id: ConversationId, target: LinkTarget) -> StoreResult<(Conversation, Item)> {
        retrying(|| self.link_once(id, target.clone())).await
    }

    async fn insert_message(&self, m: NewMessage) -> StoreResult<Message> {
        self.posts.post(m).await
    }

    async fn messages(
        &self,
        conversation: ConversationId,
        after_number: i64,
        limit: i64,
        reader: Reader,
    ) -> StoreResult<Vec<Message>> {
        let Reader::Customer { now } = reader else {
            let rows = sqlx::query(
                "SELECT * FROM messages WHERE conversation_id = $1 AND number > $2 AND withdrawn_at IS NULL
                 ORDER BY number LIMIT $3",
            )
            .bind(conversation.0)
            .bind(after_number)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
            let mut messages: Vec<Message> = rows.iter().map(rows::message).collect::<StoreResult<_>>()?;
            attachments::fill(&self.reader, &mut messages).await?;
            return Ok(messages);
        };
        // Customers page by, and are shown, their own numbers (R7, R33).
        let rows = sqlx::query(&format!(
            "SELECT * FROM {} AS v WHERE customer_number > $2 ORDER BY customer_number LIMIT $3",
            rows::customer_numbered("$1", "$4")
        ))
        .bind(conversation.0)
        .bind(after_number)
        .bind(limit)
        .bind(now)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        let mut messages: Vec<Message> = rows
            .iter()
            .map(|row| Ok(Message { number: get(row, "customer_number")?, ..rows::message(row)? }))
            .collect::<StoreResult<_>>()?;
        attachments::fill(&self.reader, &mut messages).await?;
        Ok(messages)
    }

    async fn customer_number(&self, id: MessageId, now: i64) -> StoreResult<Option<i64>> {
        sqlx::query_scalar(&format!(
            "SELECT v.customer_number FROM {} AS v WHERE v.id = $2",
            rows::customer_numbered("(SELECT conversation_id FROM messages WHERE id = $2)", "$3")
        ))
        .bind(0_i64)
        .bind(id.0)
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(other)
    }

    async fn visible_activity(&self, id: ConversationId, reader: Reader) -> StoreResult<(i64, Option<i64>)> {
        let customer_now = match reader {
            Reader::User => None,
            Reader::Customer { now } => Some(now),
        };
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n, MAX(created_at) AS last_at FROM messages WHERE conversation_id = $1
               AND withdrawn_at IS NULL AND ($2 IS NULL OR ({}))",
            rows::customer_sees("", "$2")
        ))
        .bind(id.0)
        .bind(customer_now)
        .fetch_one(&self.reader)
        .await
        .map_err(other)?;
        Ok((get(&row, "n")?, get(&row, "last_at")?))
    }

    async fn retract_message(&self, id: MessageId, how: Retraction, now: i64) -> StoreResult<Message> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut tallies = inbox::Tallies::default();
        let change = match how {
            Retraction::Undo => "withdrawn_at = $1",
            Retraction::MakeInternal => "visibility = 'internal'",
        };
        let row = sqlx::query(&format!(
            "UPDATE messages SET {change} WHERE id = $2 AND withdrawn_at IS NULL AND released_at IS NULL
               AND held_until > $1 AND visibility = 'public' RETURNING *"
        ))
        .bind(now)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?
        .ok_or(StoreError::Conflict("send_guard"))?;
        let (reason, who) = match how {
            Retraction::Undo => ("undone", ""),
            Retraction::MakeInternal => ("internal_to_customer", " AND party_kind = 'customer'"),
        };
        sqlx::query(&format!(
            "UPDATE message_recipients SET email_state = 'suppressed', email_reason = $1, email_at = $2
             WHERE message_id = $3 AND email_state = 'pending'{who}"
        ))
        .bind(reason)
        .bind(now)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        let mut message = [rows::message(&row)?];
        attachments::fill(&mut *tx, &mut message).await?;
        let [message] = message;
        if how == Retraction::Undo {
            // The conversation's latest activity and author are those of what is left.
            sqlx::query(
                "UPDATE conversations SET
                   last_activity_at = COALESCE((SELECT MAX(created_at) FROM messages
                       WHERE conversation_id = $1 AND withdrawn_at IS NULL), created_at),
                   last_author_kind = (SELECT author_kind FROM messages WHERE conversation_id = $1
                       AND withdrawn_at IS NULL AND author_kind <> 'bot' ORDER BY number DESC LIMIT 1)
                 WHERE id = $1",
            )
            .bind(message.conversation_id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
            inbox::refresh(&mut tx, &[message.conversation_id.0], Who::Everyone, &mut tallies).await?;
        }
        self.commit(tx, tallies).await?;
        Ok(message)
    }

    async fn release_held(&self, now: i64, limit: i64) -> StoreResult<Vec<Message>> {
        // It refreshes several conversations: run again if it meets a concurrent write in a deadlock.
        retrying(|| async move {
            let mut tx = self.writer.begin().await.map_err(other)?;
            let mut tallies = inbox::Tallies::default();
            // Withdrawn messages are settled without being returned: there is nothing to release.
            sqlx::query(
                "UPDATE messages SET released_at = $1
                 WHERE held_until IS NOT NULL AND released_at IS NULL AND held_until <= $1 AND withdrawn_at IS NOT NULL",
            )
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
            let rows = sqlx::query(&format!(
                "UPDATE messages SET released_at = $1
                 WHERE id IN (SELECT id FROM messages WHERE held_until IS NOT NULL AND released_at IS NULL
                              AND held_until <= $1 ORDER BY held_until LIMIT $2{skip_locked})
                 RETURNING *",
                skip_locked = B::SKIP_LOCKED
            ))
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(other)?;
            let mut messages: Vec<Message> = rows.iter().map(rows::message).collect::<StoreResult<_>>()?;
            messages.sort_by_key(|m| m.id);
            attachments::fill(&mut *tx, &mut messages).await?;
            // Customers count a held reply once it is released.
            let conversations: BTreeSet<i64> =
                messages.iter().filter(|m| m.visibility == Visibility::Public).map(|m| m.conversation_id.0).collect();
            let conversations: Vec<i64> = conversations.into_iter().collect();
            inbox::refresh(&mut tx, &conversations, Who::Customers, &mut tallies).await?;
            self.commit(tx, tallies).await?;
            Ok(messages)
        })
        .await
    }

    async fn message(&self, id: MessageId) -> StoreResult<Message> {
        let row = sqlx::query("SELECT * FROM messages WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        let mut message = [rows::message(&row)?];
        attachments::fill(&self.reader, &mut message).await?;
        let [message] = message;
        Ok(message)
    }

    async fn message_facts(&self, id: MessageId) -> StoreResult<(ConversationId, Author, access::MessageFacts)> {
        let row = sqlx::query(
            "SELECT conversation_id, author_kind, author_id, visibility, held_until,
                    withdrawn_at IS NOT NULL AS withdrawn
             FROM messages WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(other)?
        .ok_or(StoreError::NotFound)?;
        let facts = access::MessageFacts {
            visibility: rows::parse(&row, "visibility", Visibility::parse)?,
            held_until: get(&row, "held_until")?,
            withdrawn: get(&row, "withdrawn")?,
        };
        Ok((ConversationId(get(&row, "conversation_id")?), rows::author(&row, "author_kind", "author_id")?, facts))
    }

    async fn message_audience(&self, id: MessageId) -> StoreResult<Vec<Recipient>> {
        let rows = sqlx::query(
            "SELECT party_kind, party_id, reasons, notify FROM message_recipients WHERE message_id = $1 ORDER BY party_kind DESC, party_id",
        )
        .bind(id.0)
        .fetch_all(&self.reader)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| Ok(Recipient { party: rows::party(r)?, reasons: rows::reasons(r)?, notify: get(r, "notify")? }))
            .collect()
    }

    async fn inbox_counts(&self, party: Party) -> StoreResult<Vec<ViewTally>> {
        self.counts_of(party).await
    }

    async fn inbox_page(
        &self,
        party: Party,
        view: parley_domain::views::View,
        filter: InboxFilter,
        before: Option<InboxCursor>,
        limit: i64,
    ) -> StoreResult<Vec<InboxEntry>> {
        self.page_of(party, view, filter, before, limit).await
    }

    async fn row_details(&self, conversations: &[ConversationId], reader: Reader) -> StoreResult<Vec<RowDetail>> {
        self.row_details_of(conversations, reader).await
    }

    async fn conversation_rows_for_user(&self, user: UserId) -> StoreResult<Vec<ConversationRow>> {
        self.rows_for_user(user).await
    }

    async fn conversation_rows_for_customer(
        &self,
        customer: CustomerId,
        now: i64,
    ) -> StoreResult<Vec<ConversationRow>> {
        self.rows_for_customer(customer, now).await
    }

    async fn set_conversation_assignee(&self, id: ConversationId, user: UserId, on: bool) -> StoreResult<Conversation> {
        self.set_assignee(id, user, on).await?;
        self.conversation(id).await
    }

    async fn route_conversation(
        &self,
        id: ConversationId,
        eligible: &[UserId],
        cap: i64,
        now: i64,
    ) -> StoreResult<Option<UserId>> {
        self.route(id, eligible, cap, now).await
    }

    async fn open_assigned(&self, user: UserId) -> StoreResult<Vec<ConversationId>> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        crate::routing::open_assigned(&mut conn, user).await
    }

    async fn finish_background_rebuilds(&self) -> StoreResult<usize> {
        self.rebuild_in_background().await
    }

    async fn relation(&self, id: ConversationId, party: Party) -> StoreResult<parley_domain::access::Relation> {
        self.relation_of(id, party).await
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        party: Party,
        number: i64,
        now: i64,
    ) -> StoreResult<(i64, Vec<SeenReceipt>)> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut tallies = inbox::Tallies::default();
        let read = mark_read(&mut tx, id, party, number, now).await?;
        inbox::refresh(&mut tx, &[id.0], Who::Only(vec![party]), &mut tallies).await?;
        self.commit(tx, tallies).await?;
        Ok(read)
    }
}

/// R34: the email jobs of a new message planned in `plans` join the emails their recipients'
/// earlier messages of the conversation wait for, when they fall due close to them; those
/// earlier jobs then fall due with the new one.
async fn join_bursts(conn: &mut DbConnection, m: &NewMessage, plans: &mut [EmailPlan]) -> StoreResult<()> {
    use parley_domain::delivery::{after_joining, burst_due, Waiting};
    if !plans.iter().any(|p| matches!(p, EmailPlan::DueAt(_))) {
        return Ok(());
    }
    let open: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(bursts::WAITING)
        .bind(m.conversation_id.0)
        .bind(m.created_at)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    let mut kept = Vec::new();
    for (r, plan) in m.audience.recipients.iter().zip(plans.iter_mut()) {
        let EmailPlan::DueAt(due) = plan else { continue };
        let (kind, party) = (r.party.kind_str(), r.party.raw_id());
        let waiting = open
            .iter()
            .find(|(k, p, ..)| k == kind && *p == party)
            .map(|&(_, _, due_at, first_due_at, messages)| Waiting { due_at, first_due_at, messages });
        kept.push((kind, party, after_joining(*due, waiting)));
        if let (Some(together), Some(w)) = (burst_due(*due, waiting), waiting) {
            *due = together;
            // The burst's jobs move only when its email now goes later than it would have.
            if together > w.due_at {
                sqlx::query(bursts::JOIN)
                    .bind(together)
                    .bind(kind)
                    .bind(party)
                    .bind(m.conversation_id.0)
                    .bind(w.due_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(other)?;
            }
        }
    }
    let mut keep = QueryBuilder::<crate::names::Db>::new(bursts::KEEP);
    keep.push_values(&kept, |mut b, (kind, party, burst)| {
        b.push_bind(m.conversation_id.0)
            .push_bind(*kind)
            .push_bind(*party)
            .push_bind(burst.due_at)
            .push_bind(burst.first_due_at)
            .push_bind(burst.messages);
    });
    keep.push(bursts::KEEP_END);
    keep.build().execute(&mut *conn).await.map_err(other)?;
    Ok(())
}

async fn record_state_change(
    tx: &mut DbConnection,
    id: ConversationId,
    state: ConversationState,
    by: Author,
    at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO conversation_state_changes (conversation_id, state, by_kind, by_id, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(state.as_str())
    .bind(by.kind().as_str())
    .bind(by.raw_id())
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(other)?;
    Ok(())
}
