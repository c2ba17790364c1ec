//! The shared store behaviours, on a fresh SQLite file each, plus what only a file-backed store has.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_domain::views::View;
use parley_domain::*;
use parley_store::*;
use parley_store_conformance::World;
use parley_store_sqlite::SqliteStore;

async fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("parley.db")).await.unwrap();
    (store, dir)
}

parley_store_conformance::store_behaviour_tests!(fresh);

/// A folder in `dir` with the migrations numbered below `first_left_out`: a database they build
/// is one an earlier version made.
fn migrations_before(dir: &std::path::Path, first_left_out: &str) -> std::path::PathBuf {
    let old_migrations = dir.join("migrations");
    std::fs::create_dir(&old_migrations).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < first_left_out {
            std::fs::copy(&path, old_migrations.join(name)).unwrap();
        }
    }
    old_migrations
}

#[tokio::test]
async fn reopening_the_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.db");
    let (conversation, message) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let w = World::new(&store).await;
        let c = w.conversation(&store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
        let to = [Party::Customer(w.customer.id)];
        let m = parley_store_conformance::new_message(&c, Author::User(w.admin.id), &to, 5);
        (c.header.id, store.insert_message(m).await.unwrap())
    };
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.message(message.id).await.unwrap(), message);
    assert_eq!(store.conversation(conversation).await.unwrap().header.message_count, 1);
    assert_eq!(store.message_audience(message.id).await.unwrap().len(), 1);
}

/// Migration 0010 rebuilds `items` (a creator may be a customer, R18): an install made before it
/// keeps every item, its people, and the conversations and people that point at it. Migration
/// 0011 adds the inbox, which the first start fills from what is there.
#[tokio::test]
async fn upgrading_to_items_by_customers_keeps_every_item_and_builds_every_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let old_migrations = migrations_before(dir.path(), "0010");
    let path = dir.path().join("parley.db");
    {
        let options =
            sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true).foreign_keys(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(old_migrations.as_path()).await.unwrap().run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO company (id, name, item_default_visibility, project_default_visibility, created_at)
             VALUES (1, 'Acme', 'public', 'public', 1)",
            "INSERT INTO users VALUES (1, 'admin@acme.test', 'Ada', 'ada', 'admin', 'x', 1, 'all_projects', 1,
             'mine', 'followed', 1, 1, 1, 1, 0)",
            "INSERT INTO customers (id, email, name, created_at) VALUES (7, 'carla@client.example', 'Carla', 1)",
            "INSERT INTO projects VALUES (3, 'Support', 1)",
            "INSERT INTO items VALUES (5, 3, 'ticket', 'Printer on fire', 'open', 1, 2)",
            "INSERT INTO item_people VALUES (5, 'requester', 'customer', 7)",
            "INSERT INTO item_people VALUES (5, 'follower', 'user', 1)",
            "INSERT INTO conversations (id, subject, visibility, state, item_id, project_id, created_by_kind,
             created_by_id, created_at, last_activity_at) VALUES (9, 'Printer', 'public', 'open', 5, 3, 'user', 1, 3, 3)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let item = store.item(ItemId(5)).await.unwrap();
    assert_eq!((item.title.as_str(), item.created_by), ("Printer on fire", Party::User(UserId(1))));
    assert_eq!(item.requesters, vec![CustomerId(7)]);
    assert_eq!(store.conversation(ConversationId(9)).await.unwrap().header.link, Some(Link::Item(ItemId(5))));
    assert_eq!(store.company().await.unwrap().unwrap().settings.email_ticket_project_id, None);
    // Foreign keys still hold on the rebuilt table.
    let orphan = NewItem {
        project_id: ProjectId(999),
        kind: ItemKind::Task,
        title: "Nowhere".into(),
        created_by: Party::User(UserId(1)),
        requesters: vec![],
        assignees: vec![],
        created_at: 4,
    };
    assert!(store.insert_item(orphan).await.is_err(), "an item of no project is refused");
    // The inbox was built at start-up: the admin and Carla find the conversation in their views.
    let (ada, carla) = (Party::User(UserId(1)), Party::Customer(CustomerId(7)));
    let open = parley_store_conformance::read_view(&store, ada, View::OpenWithCustomers, 10).await;
    assert_eq!(open.iter().map(|s| s.0).collect::<Vec<_>>(), vec![9]);
    let portal = parley_store_conformance::read_view(&store, carla, View::PortalOpen, 10).await;
    assert_eq!(portal.iter().map(|s| s.0).collect::<Vec<_>>(), vec![9]);
    parley_store_conformance::assert_inbox_agrees(&store, &[ada, carla], 10, "upgraded").await;
}

/// A user's whole inbox is rebuilt a range of conversations per transaction, behind a mark that
/// says how far it got (R20). A stop after the first ranges leaves the mark: the next start
/// rebuilds from there on and no further back, and the inbox then equals the full computation.
#[tokio::test]
async fn r20_an_inbox_rebuild_cut_short_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.db");
    let (member, conversations) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let w = World::new(&store).await;
        let mut ids = Vec::new();
        for _ in 0..6 {
            let c = w.conversation(&store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
            ids.push(c.header.id.0);
        }
        (Party::User(w.member.id), ids)
    };
    let own_rows = "SELECT conversation_id FROM inbox WHERE party_kind = 'user' AND party_id = ? ORDER BY 1";
    let cut = conversations[3];
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let rows: Vec<i64> = sqlx::query_scalar(own_rows).bind(member.raw_id()).fetch_all(&pool).await.unwrap();
        assert_eq!(rows, conversations, "the member sees every conversation of their ticket");
        // As if the process stopped with the ranges below `cut` done and the rest not begun:
        // every row is gone (with its counts), so what the next start writes is exactly what it
        // rebuilt.
        for table in ["inbox", "inbox_counts"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE party_kind = 'user' AND party_id = ?"))
                .bind(member.raw_id())
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO inbox_rebuilds (party_kind, party_id, generation, next_conversation_id) VALUES ('user', ?, 7, ?)")
            .bind(member.raw_id())
            .bind(cut)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).read_only(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let rows: Vec<i64> = sqlx::query_scalar(own_rows).bind(member.raw_id()).fetch_all(&pool).await.unwrap();
    assert_eq!(rows, conversations[3..].to_vec(), "rebuilt from the mark on, not before it");
    let marks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox_rebuilds").fetch_one(&pool).await.unwrap();
    assert_eq!(marks, 0, "the finished rebuild's mark is gone");
    // A change of scope rebuilds the whole inbox again, and it equals the full computation.
    let mut preferences = store.preferences(UserId(member.raw_id())).await.unwrap();
    preferences.scope = parley_domain::preferences::Scope::FollowedProjects;
    store.set_preferences(UserId(member.raw_id()), &preferences).await.unwrap();
    let rows: Vec<i64> = sqlx::query_scalar(own_rows).bind(member.raw_id()).fetch_all(&pool).await.unwrap();
    assert_eq!(rows, conversations);
    parley_store_conformance::assert_inbox_agrees(&store, &[member], 10, "after the rebuild").await;
}

/// Migration 0024 (R44): emails stored before secrets were sealed lose them. Message-IDs carried
/// the reply token and name the recipient instead; reply addresses keep a slot; account emails
/// already sent lose the bodies that held a link or a code; and a queued email with a slot is
/// sealed, so that a node of the previous version, still running during a rolling deploy, never
/// claims it while a node of this one does.
#[tokio::test]
async fn r44_upgrading_scrubs_the_secrets_stored_before_and_seals_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let old_migrations = migrations_before(dir.path(), "0024");
    let token = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmno";
    assert_eq!(token.len(), 47);
    let path = dir.path().join("parley.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old_migrations.as_path()).await.unwrap().run(&pool).await.unwrap();
    let insert = "INSERT INTO outgoing_emails (id, created_at, party_kind, party_id, to_address, to_name, subject,
                    body_text, body_html, message_id_header, reply_to, status, next_attempt_at)
                  VALUES (?, 1, ?, ?, 'x@client.example', 'X', ?, ?, ?, ?, ?, ?, 1)";
    let rows = [
        (1, "customer", 7, "New message", "Hi", format!("<parley.m5.{token}@acme.test>"), true, "sent"),
        (2, "user", 3, "New message", "Hi", format!("<parley.m6.{token}@acme.test>"), true, "queued"),
        (
            3,
            "customer",
            7,
            "Your login link",
            "Open https://x/portal/login?token=pl_secretsecretsecret1",
            "<parley.login.n1@acme.test>".into(),
            false,
            "sent",
        ),
        (
            4,
            "customer",
            7,
            "Your code: 123456",
            "Your code: 123456",
            "<parley.verify.n2@acme.test>".into(),
            false,
            "failed",
        ),
        (
            5,
            "customer",
            7,
            "Your login link",
            "Open https://x/portal/login?token=pl_secretsecretsecret2",
            "<parley.login.n3@acme.test>".into(),
            false,
            "queued",
        ),
    ];
    for (id, kind, party, subject, body, message_id, reply, status) in &rows {
        sqlx::query(insert)
            .bind(id)
            .bind(kind)
            .bind(party)
            .bind(subject)
            .bind(body)
            .bind(body)
            .bind(message_id)
            .bind(reply.then(|| format!("reply+{token}@acme.test")))
            .bind(status)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let store = SqliteStore::open(&path).await.unwrap();
    let email = |id: i64| {
        let store = &store;
        async move { store.outgoing_email(OutgoingEmailId(id)).await.unwrap().email }
    };
    let (sent, queued) = (email(1).await, email(2).await);
    assert_eq!(sent.message_id_header, "<parley.m5.c7@acme.test>");
    assert_eq!(queued.message_id_header, "<parley.m6.u3@acme.test>");
    for e in [&sent, &queued] {
        assert_eq!(e.reply_to.as_deref(), Some("reply+[token]@acme.test"));
    }
    let (login, code, waiting) = (email(3).await, email(4).await, email(5).await);
    assert!(!login.body_text.contains("pl_") && !login.body_html.contains("pl_"), "{login:?}");
    assert_eq!(code.subject, "Your code: [hidden]");
    assert!(!code.body_text.contains("123456"), "{code:?}");
    assert!(waiting.body_text.contains("pl_secretsecretsecret2"), "a queued one goes out as written");

    // A node of the previous version claims with the statement it always had: the sealed email
    // is not due to it. One of this version claims it and fills its reply token in.
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let old_node = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
    let claimed_by_old: Vec<i64> = sqlx::query_scalar(
        "UPDATE outgoing_emails SET claimed_until = ?1
         WHERE id IN (SELECT id FROM outgoing_emails
                      WHERE status = 'queued' AND next_attempt_at <= ?2
                        AND (claimed_until IS NULL OR claimed_until <= ?2))
         RETURNING id",
    )
    .bind(1_000_i64)
    .bind(100_i64)
    .fetch_all(&old_node)
    .await
    .unwrap();
    assert_eq!(claimed_by_old, vec![5], "only the email with nothing to fill in");
    old_node.close().await;
    let claimed: Vec<i64> = store.claim_outgoing(2_000, 3_000, 10).await.unwrap().iter().map(|e| e.id.0).collect();
    assert_eq!(claimed, vec![2, 5], "the sealed one, and the old node's once its lease ran out");
    // Released after a failed try, it stays sealed, and is due to this version again.
    store.outgoing_failed(OutgoingEmailId(2), "421 try later", Some(2_500), 2_100).await.unwrap();
    let again: Vec<i64> = store.claim_outgoing(2_600, 3_600, 10).await.unwrap().iter().map(|e| e.id.0).collect();
    assert_eq!(again, vec![2]);
}

/// R41: an upgrade makes everyone who wrote before take part, at once; their inbox rows follow in
/// the background, while the server already serves.
#[tokio::test]
async fn r41_upgrading_makes_earlier_writers_take_part_and_rebuilds_their_inboxes_later() {
    use parley_domain::inbox::Involvement;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.db");
    let (mia, chat) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let w = World::new(&store).await;
        let cora = Party::Customer(w.customer.id);
        let chat = w.conversation(&store, Visibility::Public, None, vec![cora]).await;
        let answer = parley_store_conformance::new_message(&chat, Author::User(w.member.id), &[cora], 5);
        store.insert_message(answer).await.unwrap();
        (w.member.id, chat.header.id)
    };
    // As the previous version left it: nobody takes part, and the rows say so.
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let follows = Involvement { follows: true, ..Default::default() }.bits();
        for sql in [
            "DELETE FROM conversation_people WHERE role = 'taking_part'",
            "UPDATE inbox SET views = views & ~?1, involvement = involvement & ~?2 WHERE party_kind = 'user'",
            "ALTER TABLE inbox_rebuilds DROP COLUMN background",
            "DELETE FROM _sqlx_migrations WHERE version = 25",
        ] {
            sqlx::query(sql).bind(View::CustomerReplies.bit()).bind(follows).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    async fn among_replies(store: &SqliteStore, mia: UserId, chat: ConversationId) -> bool {
        let rows = parley_store_conformance::read_view(store, Party::User(mia), View::CustomerReplies, 10).await;
        rows.iter().any(|shown| shown.0 == chat.0)
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.conversation(chat).await.unwrap().taking_part, vec![mia], "at once");
    assert!(!among_replies(&store, mia, chat).await, "the row waits for the background rebuild");
    assert_eq!(store.finish_background_rebuilds().await.unwrap(), 1);
    assert!(among_replies(&store, mia, chat).await, "now among Mia's customer replies");
    assert_eq!(store.finish_background_rebuilds().await.unwrap(), 0, "done once");
}
