//! The policy table (`parley_server::policy::ROUTES`) held against the real server: every route of
//! the OpenAPI document, called by every kind of asker with the id of every kind of resource
//! (R7, R20, R37, §1). What an asker may not reach answers exactly as what does not exist, and no
//! answer carries a word of something its asker may not read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_server::policy::{self, Gate, Rule};
use parley_testkit::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The askers, by label. Their kind decides the gate; the world below says what each may reach.
const ADMIN: &str = "admin";
const MO: &str = "member_all";
const LENA: &str = "member_followed";
const CARLA: &str = "requester";
const DAN: &str = "other_customer";
const VERA: &str = "visitor";
const OUT: &str = "logged_out";
const EXPIRED: &str = "expired";
const NOBODY: &str = "no_token";
const RELAY: &str = "mail_relay";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Nobody,
    Customer,
    Member,
    Admin,
    /// A mail relay's token: it speaks for no person.
    Relay,
}

struct Asker {
    label: &'static str,
    kind: Kind,
    who: Option<Who>,
    /// How to start another session of the same kind (for the routes that end one).
    relogin: Option<(&'static str, &'static str, &'static str)>,
}

/// One id a path parameter can take, and who may reach it.
#[derive(Clone)]
struct Res {
    label: String,
    value: String,
    readers: BTreeSet<&'static str>,
}

fn res(label: &str, value: impl ToString, readers: &[&'static str]) -> Res {
    Res { label: label.into(), value: value.to_string(), readers: readers.iter().copied().collect() }
}

/// What the test knows about the world it seeded.
struct World {
    askers: Vec<Asker>,
    /// Resources by the first path parameter's meaning (`conversation`, `message`, …).
    resources: BTreeMap<&'static str, Vec<Res>>,
    /// Words only some askers may read: conversation subjects, message bodies, item titles.
    markers: Vec<(String, BTreeSet<&'static str>)>,
    ids: BTreeMap<&'static str, i64>,
}

impl World {
    /// The words in `text` that `asker` may not read.
    fn leaks<'a>(&'a self, text: &'a str, asker: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.markers
            .iter()
            .filter(move |(word, readers)| text.contains(word.as_str()) && !readers.contains(asker))
            .map(|(word, _)| word.as_str())
    }
}

const STAFF_ALL: &[&str] = &[ADMIN, MO];
const NONE: &[&str] = &[];

fn marker(label: &str) -> String {
    format!("zq{label}zq")
}

async fn seed(app: &TestApp) -> World {
    // The expired session is started first and outlived by everything else.
    let admin = app.admin().await;
    app.user(&admin, "expired@team.example").await;
    let expired = app.login("expired@team.example", PASSWORD).await;
    app.advance_ms(30 * 24 * 3600 * 1000 - 60_000);
    let admin = app.admin().await;
    let mo = app.user(&admin, "mo@team.example").await;
    let lena = app.user(&admin, "lena@team.example").await;
    app.user(&admin, "out@team.example").await;
    let out = app.login("out@team.example", PASSWORD).await;
    assert_eq!(app.post(&out, "/api/v1/auth/logout", json!({})).await.0, 204);
    let carla = app.customer(&admin, "carla@client.example").await;
    let dan = app.customer(&admin, "dan@other.example").await;
    let vera = app.visitor().await;
    app.advance_ms(120_000);
    assert_eq!(app.get(&expired, "/api/v1/me").await.0, 401, "the expired session has expired");

    let prefs = format!("/api/v1/users/{}/preferences", lena.id);
    assert_eq!(app.patch(&admin, &prefs, json!({"scope": "followed_projects"})).await.0, 200);
    let p1 = app.project(&admin, "Followed").await;
    let p2 = app.project(&admin, "Elsewhere").await;
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": lena.id}});
    app.ok(&admin, &format!("/api/v1/projects/{p1}/people"), follow, 200).await;
    let ta = app.ticket(&admin, p1, &marker("itemta"), &[carla.id]).await;
    let tb = app.ticket(&admin, p2, &marker("itemtb"), &[dan.id]).await;
    let team = app.ok(&admin, "/api/v1/teams", json!({"name": "Tier 1"}), 201).await["id"].as_i64().unwrap();

    let mut conversations = BTreeMap::new();
    let subject = |label: &str| marker(&format!("subj{label}"));
    for (label, item, visibility) in
        [("ta_pub", ta, "public"), ("ta_int", ta, "internal"), ("tb_pub", tb, "public"), ("tb_int", tb, "internal")]
    {
        let body = json!({"subject": subject(label), "item_id": item, "visibility": visibility});
        conversations.insert(label, create(app, &admin, body).await);
    }
    for (label, project, visibility) in [("p1_pub", p1, "public"), ("p2_int", p2, "internal")] {
        let body = json!({"subject": subject(label), "project_id": project, "visibility": visibility});
        conversations.insert(label, create(app, &admin, body).await);
    }
    let body = json!({"subject": subject("ind_pub"), "start_as": "with_customers",
        "participants": [{"kind": "customer", "id": carla.id}]});
    conversations.insert("ind_pub", create(app, &admin, body).await);
    let body = json!({"subject": subject("ind_int"), "start_as": "with_users",
        "participants": [{"kind": "user", "id": mo.id}]});
    conversations.insert("ind_int", create(app, &admin, body).await);
    let chat =
        app.ok(&vera, "/api/v1/conversations", json!({"subject": subject("chat"), "visibility": "public"}), 201).await;
    conversations.insert("chat", chat["id"].as_i64().unwrap());

    let conv_readers: BTreeMap<&str, &[&'static str]> = BTreeMap::from([
        ("ta_pub", &[ADMIN, MO, LENA, CARLA][..]),
        ("ta_int", &[ADMIN, MO, LENA][..]),
        ("tb_pub", &[ADMIN, MO, DAN][..]),
        ("tb_int", STAFF_ALL),
        ("p1_pub", &[ADMIN, MO, LENA][..]),
        ("p2_int", STAFF_ALL),
        ("ind_pub", &[ADMIN, MO, CARLA][..]),
        ("ind_int", STAFF_ALL),
        ("chat", &[ADMIN, MO, VERA][..]),
    ]);
    // One message in each conversation, written by whoever there is to write it; replies by staff
    // to customers stay held for the send guard, so customers may not read them yet (R33).
    let mut messages = Vec::new();
    let mut attachments = Vec::new();
    let mut markers = Vec::new();
    for (label, id) in &conversations {
        let readers = conv_readers[label];
        let (author, users_only) = match *label {
            "ta_pub" | "ind_pub" => (&carla, false),
            "tb_pub" => (&dan, false),
            "chat" => (&vera, false),
            _ => (&admin, true),
        };
        // Each message carries a file whose words are the message's own: who may read the one
        // may fetch the other, and nobody else.
        let file_words = format!("{} in a file", marker(&format!("msg{label}")));
        let (status, file) = app.upload(author, *id, "notes.txt", "text/plain", file_words.as_bytes()).await;
        assert_eq!(status, 201, "{file}");
        let body =
            json!({"body": format!("{} says hello", marker(&format!("msg{label}"))), "attachments": [file["id"]]});
        let said = app.ok(author, &format!("/api/v1/conversations/{id}/messages"), body, 201).await;
        let readers_of_message: Vec<&'static str> =
            readers.iter().copied().filter(|r| !users_only || [ADMIN, MO, LENA].contains(r)).collect();
        messages.push(res(&format!("msg_{label}"), said["message"]["id"].as_i64().unwrap(), &readers_of_message));
        attachments.push(res(&format!("file_{label}"), file["id"].as_i64().unwrap(), &readers_of_message));
        markers.push((marker(&format!("msg{label}")), readers_of_message.iter().copied().collect()));
        markers.push((subject(label), readers.iter().copied().collect()));
    }
    let ta_pub = conversations["ta_pub"];
    let (_, held_file) = app.upload(&admin, ta_pub, "held.txt", "text/plain", marker("held").as_bytes()).await;
    let body = json!({"body": format!("{} still sending", marker("held")), "attachments": [held_file["id"]]});
    let held = app.ok(&admin, &format!("/api/v1/conversations/{ta_pub}/messages"), body, 201).await;
    assert!(held["message"]["held_until"].is_i64(), "{held}");
    let held_readers = [ADMIN, MO, LENA];
    messages.push(res("held", held["message"]["id"].as_i64().unwrap(), &held_readers));
    attachments.push(res("file_held", held_file["id"].as_i64().unwrap(), &held_readers));
    // An upload no message took yet is its uploader's alone.
    let unsent = app.upload(&carla, ta_pub, "draft.txt", "text/plain", marker("unsent").as_bytes()).await.1;
    attachments.push(res("file_unsent", unsent["id"].as_i64().unwrap(), &[CARLA]));
    markers.push((marker("unsent"), [CARLA].into_iter().collect()));
    markers.push((marker("held"), held_readers.into_iter().collect()));
    markers.push((marker("itemta"), [ADMIN, MO, LENA, CARLA].into_iter().collect()));
    markers.push((marker("itemtb"), [ADMIN, MO, DAN].into_iter().collect()));

    // An email in the outgoing log, and an API token for each member.
    assert_eq!(
        app.call(Method::POST, None, "/api/v1/auth/customer-link", Some(json!({"email": "carla@client.example"})))
            .await
            .0,
        202
    );
    app.deliver().await;
    let (_, log) = app.get(&admin, "/api/v1/outgoing-emails").await;
    let email = log[0]["email_id"].as_i64().unwrap_or_else(|| panic!("an outgoing email: {log}"));
    let admin_token =
        app.ok(&admin, "/api/v1/me/tokens", json!({"name": "a"}), 201).await["api_token"]["id"].as_i64().unwrap();
    let mo_token =
        app.ok(&mo, "/api/v1/me/tokens", json!({"name": "m"}), 201).await["api_token"]["id"].as_i64().unwrap();

    // A relay token for the relay asker, a spare one to revoke, and a mail in the incoming log.
    let relay = app.ok(&admin, "/api/v1/inbound-tokens", json!({"name": "relay"}), 201).await;
    let relay = Who { token: relay["token"].as_str().unwrap().to_string(), id: 0 };
    let spare = app.ok(&admin, "/api/v1/inbound-tokens", json!({"name": "spare"}), 201).await["inbound_token"]["id"]
        .as_i64()
        .unwrap();
    let mail = format!(
        "From: erin@client.example\r\nTo: support@acme.test\r\nSubject: {}\r\n\r\n{} wrote in\r\n",
        marker("mailsubj"),
        marker("mailbody")
    );
    let posted = app
        .client
        .post(format!("{}/api/v1/inbound/email", app.base))
        .bearer_auth(&relay.token)
        .header("content-type", "message/rfc822")
        .body(mail)
        .send()
        .await
        .unwrap();
    let incoming: Value = posted.json().await.unwrap();
    // The message the mail posted: its original is for the users who may read it.
    messages.push(res("from_mail", incoming["posted_message_id"].as_i64().unwrap(), &[ADMIN, MO]));
    let incoming = incoming["id"].as_i64().unwrap();
    markers.push((marker("mailsubj"), [ADMIN, MO].into_iter().collect()));
    markers.push((marker("mailbody"), [ADMIN, MO].into_iter().collect()));

    let missing = 999_999;
    let mut resources: BTreeMap<&'static str, Vec<Res>> = BTreeMap::new();
    let conv_res: Vec<Res> = conversations.iter().map(|(l, id)| res(l, id, conv_readers[l])).collect();
    resources.insert("conversation", conv_res);
    resources.insert("message", messages);
    attachments.push(res("missing", missing, NONE));
    resources.insert("attachment", attachments);
    resources.insert(
        "item",
        vec![res("ta", ta, &[ADMIN, MO, LENA, CARLA]), res("tb", tb, &[ADMIN, MO, DAN]), res("missing", missing, NONE)],
    );
    resources.insert(
        "project",
        vec![res("p1", p1, &[ADMIN, MO, LENA]), res("p2", p2, STAFF_ALL), res("missing", missing, NONE)],
    );
    let staff = &[ADMIN, MO, LENA][..];
    resources.insert(
        "user",
        vec![
            res("admin", admin.id, staff),
            res("mo", mo.id, staff),
            res("lena", lena.id, staff),
            res("missing", missing, NONE),
        ],
    );
    // Preferences: one's own, or anyone's for an admin; others are refused (403), not hidden.
    resources.insert("preferences", vec![res("mo", mo.id, &[ADMIN, MO]), res("lena", lena.id, &[ADMIN, LENA])]);
    resources.insert("team", vec![res("team", team, staff), res("missing", missing, NONE)]);
    resources.insert(
        "customer",
        vec![
            // R37: a member limited to followed projects reaches the customers of what they see
            // (Carla asked for a ticket of their project); Dan's ticket and Vera's chat lie
            // outside it.
            res("carla", carla.id, &[ADMIN, MO, LENA, CARLA]),
            res("dan", dan.id, &[ADMIN, MO, DAN]),
            res("vera", vera.id, &[ADMIN, MO, VERA]),
            res("missing", missing, NONE),
        ],
    );
    resources.insert(
        "token",
        vec![res("admin", admin_token, &[ADMIN]), res("mo", mo_token, &[MO]), res("missing", missing, NONE)],
    );
    resources.insert("email", vec![res("email", email, &[ADMIN]), res("missing", missing, NONE)]);
    resources.insert("incoming", vec![res("incoming", incoming, &[ADMIN]), res("missing", missing, NONE)]);
    resources.insert("relay_token", vec![res("spare", spare, &[ADMIN]), res("missing", missing, NONE)]);
    let reply = app.ok(&admin, "/api/v1/saved-replies", json!({"title": "Hello", "body": "Hello!"}), 201).await;
    // Its author is the admin: the other users may use it but not change it (403), and the
    // admin's own deletion runs after every other call on it.
    let reply = reply["id"].as_i64().unwrap();
    resources.insert("saved_reply", vec![res("hello", reply, staff), res("missing", missing, NONE)]);
    resources.insert(
        "template",
        vec![res("new_message", "new_message", &[ADMIN]), res("missing", "no_such_template", NONE)],
    );

    // An invitation waiting for each member: each answers their own, and no one else's.
    let mut invitations = Vec::new();
    for (label, who, project) in [(MO, &mo, p2), (LENA, &lena, p1)] {
        let invitation =
            app.ok(&admin, &format!("/api/v1/projects/{project}/invitations"), json!({"user_id": who.id}), 201).await;
        invitations.push(res(label, invitation["id"].as_i64().unwrap(), &[label]));
    }
    invitations.push(res("missing", missing, NONE));
    resources.insert("invitation", invitations);
    let automation = app.ok(&admin, "/api/v1/automations", body_for_automation(), 201).await["id"].as_i64().unwrap();
    resources.insert("automation", vec![res("automation", automation, &[ADMIN]), res("missing", missing, NONE)]);
    resources.insert("system_email", vec![res("welcome", "welcome", &[ADMIN]), res("missing", "no_such_email", NONE)]);
    // A webhook that heard of one item, so its log has a delivery to send again.
    let hook = json!({"name": "Probe", "url": "http://127.0.0.1:9/hook", "events": ["item_created"]});
    let webhook = app.ok(&admin, "/api/v1/webhooks", hook, 201).await["id"].as_i64().unwrap();
    app.ok(&admin, "/api/v1/items", json!({"project_id": p1, "kind": "task", "title": "Heard"}), 201).await;
    let (_, log) = app.get(&admin, &format!("/api/v1/webhooks/{webhook}/deliveries")).await;
    let delivery = log[0]["id"].as_i64().expect("a delivery");
    resources.insert("webhook", vec![res("webhook", webhook, &[ADMIN]), res("missing", missing, NONE)]);
    resources.insert(
        "view",
        vec![
            res("staff", "open_with_customers", &[ADMIN, MO, LENA]),
            res("portal", "portal_open", &[CARLA, DAN, VERA]),
            res("missing", "no_such_view", NONE),
        ],
    );
    let askers = vec![
        Asker { label: NOBODY, kind: Kind::Nobody, who: None, relogin: None },
        Asker { label: OUT, kind: Kind::Nobody, who: Some(out), relogin: None },
        Asker { label: EXPIRED, kind: Kind::Nobody, who: Some(expired), relogin: None },
        Asker { label: VERA, kind: Kind::Customer, who: Some(vera), relogin: None },
        Asker {
            label: DAN,
            kind: Kind::Customer,
            who: Some(dan),
            relogin: Some(("/api/v1/auth/customer-login", "dan@other.example", PASSWORD)),
        },
        Asker {
            label: CARLA,
            kind: Kind::Customer,
            who: Some(carla),
            relogin: Some(("/api/v1/auth/customer-login", "carla@client.example", PASSWORD)),
        },
        Asker {
            label: LENA,
            kind: Kind::Member,
            who: Some(lena.clone()),
            relogin: Some(("/api/v1/auth/login", "lena@team.example", PASSWORD)),
        },
        Asker {
            label: MO,
            kind: Kind::Member,
            who: Some(mo.clone()),
            relogin: Some(("/api/v1/auth/login", "mo@team.example", PASSWORD)),
        },
        Asker {
            label: ADMIN,
            kind: Kind::Admin,
            who: Some(admin.clone()),
            relogin: Some(("/api/v1/auth/login", ADMIN_EMAIL, ADMIN_PASSWORD)),
        },
        Asker { label: RELAY, kind: Kind::Relay, who: Some(relay), relogin: None },
    ];
    let ids = BTreeMap::from([
        ("p1", p1),
        ("ta", ta),
        ("mo", mo.id),
        ("team", team),
        ("ta_pub", ta_pub),
        ("delivery", delivery),
    ]);
    World { askers, resources, markers, ids }
}

async fn create(app: &TestApp, who: &Who, body: Value) -> i64 {
    app.ok(who, "/api/v1/conversations", body, 201).await["id"].as_i64().unwrap()
}

fn body_for_automation() -> Value {
    json!({"name": "Thanks", "trigger": "item_closed", "visibility": "public", "body": "Thanks!"})
}

/// Which resource list a route's first path parameter draws from.
fn param_kind(path: &str) -> Option<&'static str> {
    let kinds = [
        ("/api/v1/conversations/{id}", "conversation"),
        ("/api/v1/messages/{id}", "message"),
        ("/api/v1/attachments/{id}", "attachment"),
        ("/api/v1/saved-replies/{id}", "saved_reply"),
        ("/api/v1/items/{id}", "item"),
        ("/api/v1/projects/{id}", "project"),
        ("/api/v1/users/{id}/preferences", "preferences"),
        ("/api/v1/users/{id}", "user"),
        ("/api/v1/teams/{id}", "team"),
        ("/api/v1/customers/{id}", "customer"),
        ("/api/v1/me/tokens/{id}", "token"),
        ("/api/v1/outgoing-emails/{id}", "email"),
        ("/api/v1/incoming-emails/{id}", "incoming"),
        ("/api/v1/inbound-tokens/{id}", "relay_token"),
        ("/api/v1/templates/{name}", "template"),
        ("/api/v1/views/{view}", "view"),
        ("/api/v1/invitations/{id}", "invitation"),
        ("/api/v1/automations/{id}", "automation"),
        ("/api/v1/system-emails/{kind}", "system_email"),
        ("/api/v1/webhooks/{id}", "webhook"),
    ];
    kinds.iter().find(|(prefix, _)| path.starts_with(prefix)).map(|(_, kind)| *kind)
}

/// A valid body for each route that takes one, so a refusal can only come from access.
fn body_for(method: &str, path: &str, asker: &Asker, world: &World, n: usize) -> Option<Value> {
    let mo = world.ids["mo"];
    let follower_mo = json!({"role": "follower", "party": {"kind": "user", "id": mo}});
    let password = asker.relogin.map(|(_, _, p)| p).unwrap_or(PASSWORD);
    let body = match (method, path) {
        ("GET" | "DELETE", _) => return None,
        ("POST", "/api/v1/auth/login") => json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        ("POST", "/api/v1/auth/customer-login") => json!({"email": "carla@client.example", "password": PASSWORD}),
        ("POST", "/api/v1/auth/customer-link") => json!({"email": "carla@client.example"}),
        ("POST", "/api/v1/auth/customer-link/redeem") => json!({"token": "not-a-link"}),
        ("POST", "/api/v1/me/password") => json!({"current_password": password, "new_password": password}),
        ("POST", "/api/v1/me/tokens" | "/api/v1/inbound-tokens") => json!({"name": format!("t{n}")}),
        ("PATCH", "/api/v1/company") => json!({"name": "Acme"}),
        ("POST", "/api/v1/users") => {
            json!({"email": format!("new{n}@team.example"), "name": "New", "password": PASSWORD})
        }
        ("PATCH", "/api/v1/users/{id}") => json!({"name": "Same"}),
        ("PATCH", "/api/v1/users/{id}/preferences") => json!({"sound": true}),
        ("POST", "/api/v1/teams") => json!({"name": format!("Team {n}")}),
        ("POST", "/api/v1/teams/{id}/members") => json!({"user_id": mo}),
        ("POST", "/api/v1/organizations") => json!({"name": format!("Org {n}"), "domain": format!("org{n}.example")}),
        ("POST", "/api/v1/customers") => json!({"email": format!("new{n}@client.example"), "name": "New"}),
        ("POST", "/api/v1/projects") => json!({"name": format!("Project {n}")}),
        (
            "POST",
            "/api/v1/projects/{id}/people" | "/api/v1/items/{id}/people" | "/api/v1/conversations/{id}/people",
        ) => follower_mo,
        ("POST", "/api/v1/items") => json!({"project_id": world.ids["p1"], "kind": "ticket", "title": "New"}),
        ("PATCH", "/api/v1/items/{id}") => json!({"status": "open"}),
        ("POST", "/api/v1/conversations") => match asker.kind {
            Kind::Customer => json!({"subject": "New", "visibility": "public"}),
            _ => json!({"subject": "New", "start_as": "with_users"}),
        },
        ("POST", "/api/v1/conversations/{id}/state") => json!({"action": "close"}),
        ("POST", "/api/v1/conversations/{id}/link") => json!({"item_id": world.ids["ta"]}),
        ("POST", "/api/v1/conversations/{id}/read") => json!({"up_to": 1}),
        ("POST", "/api/v1/conversations/{id}/messages") => json!({"body": "a reply"}),
        ("POST", "/api/v1/conversations/{id}/recipients-preview") => json!({"body": "a reply"}),
        ("POST", "/api/v1/messages/seen") => {
            let ids: Vec<i64> = world.resources["message"].iter().map(|m| m.value.parse().unwrap()).collect();
            json!({"message_ids": ids})
        }
        ("PUT", "/api/v1/templates/{name}") | ("POST", "/api/v1/templates/{name}/preview") => {
            json!({"subject": "{{ subject }}", "body_text": "{{ body_text }}", "body_html": "<p>{{ subject }}</p>"})
        }
        ("POST", "/api/v1/me/requests") => json!({"title": format!("Request {n}"), "body": "Please help"}),
        ("POST", "/api/v1/saved-replies") => json!({"title": format!("Reply {n}"), "body": "Thanks!"}),
        ("PUT", "/api/v1/saved-replies/{id}") => json!({"title": "Hello", "body": "Hello again!"}),
        ("POST", "/api/v1/saved-replies/{id}/fill") => json!({"conversation_id": world.ids["ta_pub"]}),
        ("POST", "/api/v1/widget/visitors") => json!({}),
        ("POST", "/api/v1/widget/contact") => json!({"email": format!("v{n}@shopper.example")}),
        ("POST", "/api/v1/widget/verify") => json!({"code": "000000"}),
        ("POST", "/api/v1/auth/password-reset") => json!({"email": "carla@client.example"}),
        ("POST", "/api/v1/auth/set-password") => json!({"token": "pw_not-a-link", "password": "a fine passphrase"}),
        ("POST", "/api/v1/invitations/accept-link") => json!({"token": "pi_not-a-link"}),
        ("PATCH", "/api/v1/system-emails/{kind}") => json!({"enabled": true}),
        ("POST", "/api/v1/projects/{id}/invitations") => json!({"user_id": mo}),
        ("POST", "/api/v1/templates") => json!({"name": format!("probe-{n}"), "subject": "{{ event }}"}),
        ("POST", "/api/v1/webhooks") | ("PUT", "/api/v1/webhooks/{id}") => {
            json!({"name": format!("Hook {n}"), "url": "http://127.0.0.1:9/hook", "events": ["item_created"]})
        }
        ("POST", "/api/v1/automations") | ("PUT", "/api/v1/automations/{id}") => {
            json!({"name": format!("Auto {n}"), "trigger": "item_closed", "visibility": "public", "body": "Thanks!"})
        }
        _ => json!({}),
    };
    Some(body)
}

/// Fills the route's path: the first parameter from `res`, the people's `{role}/{kind}/{party_id}`
/// with a follower who is a user, a team member with a user.
fn fill(path: &str, res: Option<&Res>, world: &World) -> String {
    let mo = world.ids["mo"].to_string();
    let mut out = path.to_string();
    if let (true, Some(r)) = (path.starts_with("/api/v1/system-emails/"), res) {
        out = out.replace("{kind}", &r.value);
    }
    out = out.replace("{role}", "follower").replace("{kind}", "user").replace("{party_id}", &mo);
    out = out.replace("{user_id}", &mo);
    out = out.replace("{delivery}", &world.ids["delivery"].to_string());
    if let Some(r) = res {
        out = out.replace("{id}", &r.value).replace("{name}", &r.value).replace("{view}", &r.value);
    }
    // Every marker begins with these letters: a search for them finds all it may, and the
    // answer must not carry one its asker may not read.
    if out == "/api/v1/search" {
        out.push_str("?q=zq");
    }
    if path.ends_with("/attachments") {
        out.push_str("?name=probe.txt");
    }
    out
}

/// Routes that change who reaches what, or end sessions, run after every other one.
fn order(method: &str, path: &str) -> u8 {
    match (method, path) {
        ("POST", "/api/v1/messages/{id}/make-internal")
        | ("DELETE", "/api/v1/saved-replies/{id}" | "/api/v1/automations/{id}" | "/api/v1/webhooks/{id}") => 1,
        ("POST", "/api/v1/messages/{id}/undo") => 2,
        ("POST", "/api/v1/conversations/{id}/link") => 3,
        (_, "/api/v1/me/tokens/{id}" | "/api/v1/inbound-tokens/{id}") => 4,
        ("POST", "/api/v1/auth/logout") => 5,
        ("POST", "/api/v1/me/password") => 6,
        _ => 0,
    }
}

/// Routes whose call ends the asker's session: they run on a second session of the same kind.
fn ends_session(path: &str) -> bool {
    path == "/api/v1/auth/logout" || path == "/api/v1/me/password"
}

fn expected_gate(rule: &Rule, kind: Kind) -> Gate {
    match kind {
        Kind::Nobody => rule.nobody,
        Kind::Customer => rule.customer,
        Kind::Member => rule.member,
        Kind::Admin => rule.admin,
        Kind::Relay => rule.relay,
    }
}

struct Call<'a> {
    asker: &'a Asker,
    res: Option<Res>,
    expect: Expect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The gate refuses with this status.
    Refused(u16),
    /// Outside the asker's reach: the same answer as for nothing at all.
    Unreachable(u16),
    /// Within reach: neither 401 nor 404 (a rule of the route may still say no, with 403 or 409).
    Reached,
    /// Open to anyone: any answer but a server error.
    Open,
}

#[tokio::test]
async fn r7_r20_r37_every_route_answers_every_asker_as_the_policy_table_says() {
    let app = spawn_app_with(|c| {
        c.send_guard = Some(Duration::from_secs(600));
        c.rate_limits = false;
    })
    .await;
    let world = seed(&app).await;

    // Every route of the document has a row, and every row a route.
    let (status, doc) = app.call(Method::GET, None, "/api/openapi.json", None).await;
    assert_eq!(status, 200);
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let rule = policy::rule_for(&method.parse().unwrap(), path)
                .unwrap_or_else(|| panic!("{method} {path} has no row in the policy table"));
            routes.push((method, path.clone(), rule));
        }
    }
    assert_eq!(routes.len(), policy::ROUTES.len(), "a row of the policy table names no route");
    routes.sort_by_key(|(m, p, _)| (order(m, p), p.clone(), m.clone()));

    let mut calls_made = 0;
    let mut n = 0;
    let mut failures = Vec::new();
    for (method, path, rule) in &routes {
        let kind = param_kind(path);
        let bindings: Vec<Option<Res>> = match kind {
            Some(kind) => world.resources[kind].iter().cloned().map(Some).collect(),
            None => vec![None],
        };
        let mut calls = Vec::new();
        for asker in &world.askers {
            let gate = expected_gate(rule, asker.kind);
            for res in &bindings {
                let expect = match gate {
                    Gate::Unauthenticated => Expect::Refused(401),
                    Gate::Forbidden => Expect::Refused(403),
                    Gate::Hidden => Expect::Refused(404),
                    Gate::Pass if *rule == policy::OPEN => Expect::Open,
                    Gate::Pass => match res {
                        Some(r) if r.readers.contains(asker.label) => Expect::Reached,
                        Some(_) if kind == Some("preferences") => Expect::Unreachable(403),
                        Some(_) => Expect::Unreachable(404),
                        None => Expect::Reached,
                    },
                };
                calls.push(Call { asker, res: res.clone(), expect });
            }
        }
        // Refusals first: a refused call must change nothing, and a call that is let through may.
        calls.sort_by_key(|c| matches!(c.expect, Expect::Reached | Expect::Open));
        let mut missing_answer: BTreeMap<&str, Value> = BTreeMap::new();
        for call in calls {
            n += 1;
            let url = fill(path, call.res.as_ref(), &world);
            let body = body_for(method, path, call.asker, &world, n);
            let who = match (&call.asker.who, ends_session(path), call.asker.relogin) {
                (Some(_), true, Some((login, email, password))) => Some(app.login_at(login, email, password).await),
                (Some(_), true, None) if call.asker.kind == Kind::Customer => Some(app.visitor().await),
                (who, _, _) => who.clone(),
            };
            let (status, answer) = app.call(method.parse().unwrap(), who.as_ref(), &url, body).await;
            calls_made += 1;
            let what = format!(
                "{method} {url} as {} ({}): expected {:?}, got {status} {answer}",
                call.asker.label,
                call.res.as_ref().map(|r| r.label.as_str()).unwrap_or("-"),
                call.expect
            );
            let ok = match call.expect {
                Expect::Refused(code) => status == code && answer["error"]["code"].is_string(),
                Expect::Unreachable(code) => {
                    let same = match call.res.as_ref().map(|r| r.label.as_str()) {
                        Some("missing") => {
                            missing_answer.insert(call.asker.label, answer.clone());
                            true
                        }
                        _ => missing_answer.get(call.asker.label).is_none_or(|m| *m == answer || code == 403),
                    };
                    status == code && same
                }
                // A message that did not come by email has no original: that 404 names it.
                Expect::Reached if path.ends_with("/original") => {
                    status < 500 && status != 401 && (status != 404 || answer.to_string().contains("original email"))
                }
                Expect::Reached => status < 500 && status != 401 && status != 404,
                Expect::Open => status < 500,
            };
            if !ok {
                failures.push(what.clone());
            }
            // No answer carries words its asker may not read.
            failures.extend(
                world.leaks(&answer.to_string(), call.asker.label).map(|word| format!("LEAK of {word}: {what}")),
            );
        }
    }
    let resources: usize = world.resources.values().map(Vec::len).sum();
    println!(
        "policy matrix: {} routes × {} askers over {} resources of {} kinds: {calls_made} calls",
        routes.len(),
        world.askers.len(),
        resources,
        world.resources.len()
    );
    assert!(failures.is_empty(), "{} of {calls_made} calls broke the table:\n{}", failures.len(), failures.join("\n"));
    app.stop().await;
}

/// What each socket received: every frame, as JSON.
async fn drain(socket: &mut Socket) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Some(frame) = socket.next(Duration::from_millis(400)).await {
        frames.push(frame);
    }
    frames
}

#[tokio::test]
async fn r7_r12_r33_every_asker_receives_exactly_the_events_the_event_table_allows() {
    let app = spawn_app_with(|c| {
        c.send_guard = Some(Duration::from_secs(600));
        c.rate_limits = false;
    })
    .await;
    let mut world = seed(&app).await;
    let who = |label: &str| world.askers.iter().find(|a| a.label == label).and_then(|a| a.who.clone()).unwrap();
    let (admin, carla, dan, vera) = (who(ADMIN), who(CARLA), who(DAN), who(VERA));

    // No valid credential, no socket.
    for asker in world.askers.iter().filter(|a| matches!(a.kind, Kind::Nobody | Kind::Relay)) {
        let token = asker.who.as_ref().map(|w| w.token.clone()).unwrap_or_default();
        let refused = Socket::connect(&app.base, &token, None).await.err().map(|r| r.0);
        assert_eq!(refused, Some(Some(401)), "{} got a socket", asker.label);
    }
    let mut sockets = Vec::new();
    for asker in world.askers.iter().filter(|a| !matches!(a.kind, Kind::Nobody | Kind::Relay)) {
        sockets.push((asker.label, app.socket(asker.who.as_ref().unwrap()).await));
    }

    let conversations: Vec<Res> = world.resources["conversation"].clone();
    let readers_of = |id: i64| -> BTreeSet<&'static str> {
        conversations.iter().find(|c| c.value == id.to_string()).map(|c| c.readers.clone()).unwrap_or_default()
    };
    let mut events = 0;
    // Staff write in every conversation (held from customers until the guard passes, R33) ...
    for c in &conversations {
        let word = marker(&format!("ws{}", c.label));
        app.say(&admin, c.value.parse().unwrap(), &word).await;
        world.markers.push((word, c.readers.clone()));
        events += 1;
    }
    // ... customers write where they take part ...
    for (author, label) in [(&carla, "ta_pub"), (&carla, "ind_pub"), (&dan, "tb_pub"), (&vera, "chat")] {
        let c = conversations.iter().find(|c| c.label == label).unwrap();
        let word = marker(&format!("wsc{label}"));
        app.say(author, c.value.parse().unwrap(), &word).await;
        world.markers.push((word, c.readers.clone()));
        events += 1;
    }
    // ... a held reply is taken back, which only users hear of ...
    let ta_pub = conversations.iter().find(|c| c.label == "ta_pub").unwrap().value.parse::<i64>().unwrap();
    let undone = app.say(&admin, ta_pub, &marker("undone")).await["message"]["id"].as_i64().unwrap();
    world.markers.push((marker("undone"), [ADMIN, MO, LENA].into_iter().collect()));
    assert_eq!(app.post(&admin, &format!("/api/v1/messages/{undone}/undo"), json!({})).await.0, 200);
    events += 2;
    // ... the guard passes and the held replies reach their customers ...
    app.advance_ms(601_000);
    app.deliver().await;
    events += 1;
    for (word, readers) in &mut world.markers {
        if *word == marker("held") {
            readers.insert(CARLA);
        }
    }
    // ... a customer reports what she saw, which staff hear of ...
    let (_, thread) = app.get(&carla, &format!("/api/v1/conversations/{ta_pub}/messages")).await;
    let ids: Vec<i64> = thread.as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert_eq!(app.post(&carla, "/api/v1/messages/seen", json!({"message_ids": ids})).await.0, 200);
    events += 1;
    // ... and every conversation is closed.
    for c in &conversations {
        let path = format!("/api/v1/conversations/{}/state", c.value);
        assert_eq!(app.post(&admin, &path, json!({"action": "close"})).await.0, 200);
        events += 1;
    }

    let mut received: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (label, socket) in &mut sockets {
        received.insert(label, drain(socket).await);
    }
    let mut failures = Vec::new();
    for (label, frames) in &received {
        let customer = [CARLA, DAN, VERA].contains(label);
        for frame in frames {
            let text = frame.to_string();
            failures.extend(world.leaks(&text, label).map(|word| format!("LEAK of {word} to {label}: {text}")));
            let conversation = frame["message"]["conversation_id"].as_i64().or(frame["conversation_id"].as_i64());
            if let Some(id) = conversation {
                if !readers_of(id).contains(label) {
                    failures.push(format!("{label} heard of conversation {id}: {text}"));
                }
            }
            let kind = frame["type"].as_str().unwrap_or_default();
            if customer && ["retracted", "seen"].contains(&kind) {
                failures.push(format!("{label} got a users-only event: {text}"));
            }
            if customer && kind == "message" && frame["message"]["visibility"] != "public" {
                failures.push(format!("{label} got an internal message: {text}"));
            }
        }
    }
    // And what each may receive did arrive: replies once released, seen receipts, a retraction.
    let got = |label: &str, word: &str| received[label].iter().any(|f| f.to_string().contains(word));
    for (label, word) in [
        (CARLA, marker("wsta_pub")),
        (CARLA, marker("wsind_pub")),
        (DAN, marker("wstb_pub")),
        (VERA, marker("wschat")),
        (MO, marker("wsind_int")),
        (ADMIN, marker("wscta_pub")),
    ] {
        if !got(label, &word) {
            failures.push(format!("{label} never received {word}"));
        }
    }
    let kinds = |label: &str| -> BTreeSet<String> {
        received[label].iter().filter_map(|f| f["type"].as_str().map(String::from)).collect()
    };
    for (label, kind) in [(ADMIN, "seen"), (ADMIN, "retracted"), (CARLA, "state"), (DAN, "state"), (VERA, "state")] {
        if !kinds(label).contains(kind) {
            failures.push(format!("{label} never received a {kind} event: {:?}", kinds(label)));
        }
    }
    let frames: usize = received.values().map(Vec::len).sum();
    println!("event matrix: {events} events × {} askers: {frames} frames checked", world.askers.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.stop().await;
}
