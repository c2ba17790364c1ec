//! `parley-load --automations`: what automations (R29) cost, through the real HTTP API. An item's
//! status change reads the automations once; each that fires posts a bot message through the
//! post path. Measured with none, with five listening that do not fire (another project's), and
//! with five that fire; and posts, which no automation listens to, with none and with five.

use crate::attachments_load::{percentiles, spread};
use parley_testkit::{spawn_app_with, TestApp, Who};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub struct Changes {
    /// Tickets, each changed once per phase.
    pub count: usize,
    pub clients: usize,
}

pub async fn run(c: Changes) -> anyhow::Result<()> {
    let app = spawn_app_with(|c| c.rate_limits = false).await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Load").await;
    let elsewhere = app.project(&admin, "Elsewhere").await;
    let mut tickets = Vec::with_capacity(c.count);
    let mut conversations = Vec::with_capacity(c.count);
    for n in 0..c.count {
        let ticket = app.ticket(&admin, project, &format!("Ticket {n}"), &[carla.id]).await;
        conversations.push(app.conversation(&admin, ticket, "public").await);
        tickets.push(ticket);
    }
    let client = reqwest::Client::new();
    let phases: [(&str, Option<i64>, usize); 3] =
        [("no automations", None, 0), ("5 listening, none fires", Some(elsewhere), 5), ("5 firing", None, 5)];
    let statuses = ["in_progress", "open"];
    for (phase, (label, scope, how_many)) in phases.into_iter().enumerate() {
        let made = make_automations(&app, &admin, scope, how_many).await;
        let status = statuses[phase % 2];
        let started = Instant::now();
        let changes = spread(tickets.len(), c.clients, |n| {
            let (base, token, client, ticket) = (app.base.clone(), admin.token.clone(), client.clone(), tickets[n]);
            async move {
                let res = client
                    .patch(format!("{base}/api/v1/items/{ticket}"))
                    .bearer_auth(token)
                    .json(&json!({ "status": status }))
                    .send()
                    .await
                    .expect("change");
                assert_eq!(res.status(), 200);
            }
        })
        .await;
        let elapsed = started.elapsed();
        let (p50, p99) = percentiles(&changes);
        let fired = if scope.is_none() { how_many } else { 0 };
        println!(
            "status changes, {label}: {} changes, {} clients: {:.0} changes/s, p50 {p50:?}, p99 {p99:?}; \
             bot posts {:.0}/s",
            changes.len(),
            c.clients,
            changes.len() as f64 / elapsed.as_secs_f64(),
            (changes.len() * fired) as f64 / elapsed.as_secs_f64()
        );
        let (rate, p50, p99) = post_rate(&app, &admin, &client, &conversations, c.clients).await;
        println!("posts, {label}: {:.0} posts/s, p50 {p50:?}, p99 {p99:?}", rate);
        for id in made {
            app.delete(&admin, &format!("/api/v1/automations/{id}")).await;
        }
    }
    app.stop().await;
    Ok(())
}

/// `count` automations on status changes, limited to `scope` if given; answers their ids.
async fn make_automations(app: &TestApp, admin: &Who, scope: Option<i64>, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..count {
        let body = json!({"name": format!("Automation {n}"), "trigger": "item_status_changed", "visibility": "public",
            "body": format!("Status changed ({n})."), "project_id": scope});
        let made: Value = app.ok(admin, "/api/v1/automations", body, 201).await;
        ids.push(made["id"].as_i64().expect("id"));
    }
    ids
}

/// One post into each conversation, from `clients` at once.
pub(crate) async fn post_rate(
    app: &TestApp,
    admin: &Who,
    client: &reqwest::Client,
    conversations: &[i64],
    clients: usize,
) -> (f64, Duration, Duration) {
    let started = Instant::now();
    let posts = spread(conversations.len(), clients, |n| {
        let (base, token, client, conversation) =
            (app.base.clone(), admin.token.clone(), client.clone(), conversations[n]);
        async move {
            let res = client
                .post(format!("{base}/api/v1/conversations/{conversation}/messages"))
                .bearer_auth(token)
                .json(&json!({"body": format!("post {n}")}))
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 201);
        }
    })
    .await;
    let elapsed = started.elapsed();
    let (p50, p99) = percentiles(&posts);
    (posts.len() as f64 / elapsed.as_secs_f64(), p50, p99)
}
