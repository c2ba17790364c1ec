//! R29 through the real server: automations post as the bot through the one post path — its
//! audience, realtime, the email fallback, the locked refusal — and the core rule stays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(2);
const QUIET: Duration = Duration::from_millis(300);

fn automation(name: &str, trigger: &str, visibility: &str, body: &str) -> Value {
    json!({"name": name, "trigger": trigger, "visibility": visibility, "body": body})
}

async fn messages(app: &TestApp, who: &Who, conversation: i64) -> (u16, Vec<Value>) {
    let (status, list) = app.get(who, &format!("/api/v1/conversations/{conversation}/messages")).await;
    (status, list.as_array().cloned().unwrap_or_default())
}

/// The conversations in the asker's "Unanswered" view (R26).
async fn unanswered(app: &TestApp, who: &Who) -> Vec<i64> {
    let (_, page) = app.get(who, "/api/v1/views/unanswered").await;
    page["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

async fn close_item(app: &TestApp, who: &Who, item: i64) {
    let (status, body) = app.patch(who, &format!("/api/v1/items/{item}"), json!({"status": "closed"})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn r29_closing_an_item_posts_one_bot_message_that_reaches_exactly_its_audience() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let thanks = automation("Thanks on close", "item_closed", "public", "Closed: thank you for your patience!");
    app.ok(&d.admin, "/api/v1/automations", thanks, 201).await;
    let note = automation("Invoice check", "item_closed", "internal", "Closed: check the invoice.");
    app.ok(&d.admin, "/api/v1/automations", note, 201).await;
    let mut carla = app.socket(&d.carla).await;
    let mut mia = app.socket(&d.mia).await;

    close_item(&app, &d.admin, d.ticket).await;
    let (_, public) = messages(&app, &d.admin, d.public).await;
    assert_eq!(public.len(), 1, "one bot message: {public:?}");
    assert_eq!(public[0]["author"]["kind"], "bot");
    assert_eq!(public[0]["body"], "Closed: thank you for your patience!");
    let pushed = carla.next_of("message", WAIT).await.unwrap();
    assert_eq!(pushed["message"]["body"], "Closed: thank you for your patience!");
    assert!(carla.all_of("message", QUIET).await.is_empty(), "the internal note never reaches her");

    // The internal one went into an internal conversation on the ticket, made for it.
    let (_, conversations) = app.get(&d.admin, &format!("/api/v1/items/{}/conversations", d.ticket)).await;
    let internal = conversations.as_array().unwrap().iter().find(|c| c["visibility"] == "internal").unwrap();
    let internal = internal["id"].as_i64().unwrap();
    let (_, notes) = messages(&app, &d.admin, internal).await;
    assert_eq!(notes.iter().map(|m| m["body"].as_str().unwrap()).collect::<Vec<_>>(), ["Closed: check the invoice."]);
    assert_eq!(messages(&app, &d.carla, internal).await.0, 404);
    let to_mia: Vec<Value> = mia.all_of("message", QUIET).await;
    assert_eq!(to_mia.len(), 2, "the assignee hears both: {to_mia:?}");

    // Unseen, they go out by email once: Carla gets the public one only.
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let to_carla = smtp.mails_to(Desk::CARLA);
    assert_eq!(to_carla.len(), 1);
    assert!(to_carla[0].text().contains("thank you for your patience"), "{}", to_carla[0].text());
    assert!(!smtp.mails().iter().any(|m| m.to.contains(&Desk::CARLA.to_string()) && m.text().contains("invoice")));
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to(Desk::CARLA).len(), 1, "once");

    // Closing again changes nothing, so nothing fires again.
    close_item(&app, &d.admin, d.ticket).await;
    assert_eq!(messages(&app, &d.admin, d.public).await.1.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn r29_the_core_rule_comes_first_and_refuses_disabling_changes_and_deletion() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let (status, list) = app.get(&admin, "/api/v1/automations").await;
    assert_eq!(status, 200);
    let core = &list[0];
    assert_eq!((core["core"].as_bool(), core["trigger"].as_str()), (Some(true), Some("new_message")));
    assert_eq!((core["enabled"].as_bool(), core["template"].as_str()), (Some(true), Some("new_message")));
    assert_eq!(core["reaches"], "the followers of the conversation");
    let id = core["id"].as_i64().unwrap();
    let off = json!({"name": "Off", "trigger": "item_closed", "visibility": "public", "body": "x", "enabled": false});
    let (status, body) = app.call(Method::PUT, Some(&admin), &format!("/api/v1/automations/{id}"), Some(off)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("core_rule")), "{body}");
    let (status, body) = app.delete(&admin, &format!("/api/v1/automations/{id}")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("core_rule")), "{body}");
    assert_eq!(app.get(&admin, "/api/v1/automations").await.1[0]["enabled"], true);
    assert_eq!(app.get(&mia, "/api/v1/automations").await.0, 403, "admins only");

    // An automation of one's own cannot answer new messages, and names a project that exists.
    let (status, body) =
        app.post(&admin, "/api/v1/automations", automation("Echo", "new_message", "public", "Hi")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_input")), "{body}");
    let mut lost = automation("Lost", "item_created", "public", "Hi");
    lost["project_id"] = json!(999_999);
    let (status, body) = app.post(&admin, "/api/v1/automations", lost).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unknown_project")), "{body}");
    assert_eq!(app.get(&admin, "/api/v1/automations").await.1.as_array().unwrap().len(), 1, "nothing written");
    app.stop().await;
}

#[tokio::test]
async fn r29_conditions_switches_and_the_locked_refusal_decide_what_fires() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let other = app.project(&d.admin, "Sales").await;
    let mut elsewhere = automation("Sales only", "item_closed", "public", "Sales closed it.");
    elsewhere["project_id"] = json!(other);
    app.ok(&d.admin, "/api/v1/automations", elsewhere, 201).await;
    let mut tasks = automation("Tasks only", "item_closed", "public", "Task done.");
    tasks["item_kind"] = json!("task");
    app.ok(&d.admin, "/api/v1/automations", tasks, 201).await;
    let mut off = automation("Off", "item_closed", "public", "Should not be said.");
    off["enabled"] = json!(false);
    let off = app.ok(&d.admin, "/api/v1/automations", off, 201).await;
    close_item(&app, &d.admin, d.ticket).await;
    assert!(messages(&app, &d.admin, d.public).await.1.is_empty(), "none of them fires on this ticket");

    // Turned on, it fires on the next change, unless the conversation is locked: the bot is
    // refused as everyone is, and the change itself still happens.
    let mut on = automation("Off", "item_status_changed", "public", "Status changed.");
    on["enabled"] = json!(true);
    let path = format!("/api/v1/automations/{}", off["id"]);
    let (status, updated) = app.call(Method::PUT, Some(&d.admin), &path, Some(on)).await;
    assert_eq!((status, updated["enabled"].as_bool()), (200, Some(true)), "{updated}");
    let state = format!("/api/v1/conversations/{}/state", d.public);
    app.ok(&d.admin, &state, json!({"action": "close"}), 200).await;
    app.ok(&d.admin, &state, json!({"action": "lock"}), 200).await;
    let (status, item) = app.patch(&d.admin, &format!("/api/v1/items/{}", d.ticket), json!({"status": "open"})).await;
    assert_eq!((status, item["status"].as_str()), (200, Some("open")));
    assert!(messages(&app, &d.admin, d.public).await.1.is_empty(), "a locked conversation refuses the bot");
    assert_eq!(app.delete(&d.admin, &path).await.0, 204);
    app.stop().await;
}

#[tokio::test]
async fn r29_a_customer_starting_a_conversation_is_answered_and_closing_and_reopening_too() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let hello =
        automation("Welcome", "new_customer_conversation", "public", "Thanks for writing: we reply within a day.");
    app.ok(&admin, "/api/v1/automations", hello, 201).await;
    let back = automation("Reopened", "conversation_reopened", "public", "Welcome back.");
    app.ok(&admin, "/api/v1/automations", back, 201).await;
    let start = json!({"subject": "Broken printer", "visibility": "public", "body": "It smokes."});
    let conversation = app.ok(&carla, "/api/v1/conversations", start, 201).await["id"].as_i64().unwrap();
    let (_, said) = messages(&app, &carla, conversation).await;
    let bodies: Vec<&str> = said.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["It smokes.", "Thanks for writing: we reply within a day."]);
    assert_eq!(said[1]["author"]["kind"], "bot");
    // R26: the bot's answer is not a user's: the conversation is still unanswered.
    assert_eq!(unanswered(&app, &admin).await, [conversation]);

    // A user's new conversation is not a customer's.
    let start = json!({"subject": "Team chat", "start_as": "with_users", "body": "Hi team"});
    let internal = app.ok(&admin, "/api/v1/conversations", start, 201).await["id"].as_i64().unwrap();
    assert_eq!(messages(&app, &admin, internal).await.1.len(), 1);

    // Said on closing, the bot's words leave the conversation closed; a reopening is greeted.
    let bye = automation("Closed", "conversation_closed", "public", "We closed this; write again any time.");
    app.ok(&admin, "/api/v1/automations", bye, 201).await;
    let state = format!("/api/v1/conversations/{conversation}/state");
    app.ok(&admin, &state, json!({"action": "close"}), 200).await;
    let (_, said) = messages(&app, &carla, conversation).await;
    assert_eq!(said.last().unwrap()["body"], "We closed this; write again any time.");
    assert_eq!(app.get(&carla, &format!("/api/v1/conversations/{conversation}")).await.1["state"], "closed");
    app.ok(&admin, &state, json!({"action": "reopen"}), 200).await;
    let (_, said) = messages(&app, &carla, conversation).await;
    assert_eq!(said.last().unwrap()["body"], "Welcome back.");
    assert_eq!(unanswered(&app, &admin).await, [conversation], "still waiting for a user");
    app.say(&admin, conversation, "On it.").await;
    assert!(unanswered(&app, &admin).await.is_empty(), "a user answered");
    app.stop().await;
}

#[tokio::test]
async fn r29_a_customer_waiting_for_a_user_is_answered_by_the_bot_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let mut wait = automation("Still there?", "no_user_reply", "public", "We have your message and reply soon.");
    wait["minutes"] = json!(30);
    let made = app.ok(&admin, "/api/v1/automations", wait, 201).await;
    assert_eq!(made["minutes"], 30);
    let mut closing = automation("Closing", "item_closed", "public", "Bye");
    closing["minutes"] = json!(5);
    assert_eq!(
        app.ok(&admin, "/api/v1/automations", closing.clone(), 201).await["minutes"],
        Value::Null,
        "only a wait waits"
    );
    closing["minutes"] = json!(0);
    assert_eq!(app.post(&admin, "/api/v1/automations", closing.clone()).await.0, 400, "a wait given is in bounds");
    closing["minutes"] = json!(45.0);
    assert_eq!(app.post(&admin, "/api/v1/automations", closing).await.0, 201, "45.0 is a whole number");

    let start = json!({"subject": "Broken printer", "visibility": "public", "body": "It smokes."});
    let waiting = app.ok(&carla, "/api/v1/conversations", start, 201).await["id"].as_i64().unwrap();
    let start = json!({"subject": "Invoice", "visibility": "public", "body": "Wrong amount."});
    let answered = app.ok(&carla, "/api/v1/conversations", start, 201).await["id"].as_i64().unwrap();
    app.say(&admin, answered, "Fixed it.").await;

    app.advance_ms(29 * 60_000);
    assert_eq!(app.services().run_waiting_automations().await.unwrap(), 0, "not yet");
    app.advance_ms(60_000);
    app.services().run_waiting_automations().await.unwrap();
    app.services().run_waiting_automations().await.unwrap();
    let bodies = |list: Vec<Value>| list.iter().map(|m| m["body"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(bodies(messages(&app, &carla, waiting).await.1), ["It smokes.", "We have your message and reply soon."]);
    assert_eq!(bodies(messages(&app, &carla, answered).await.1), ["Wrong amount.", "Fixed it."], "a user answered");
    assert_eq!(unanswered(&app, &admin).await, [waiting], "the bot's answer is not a user's");

    // Her next message waits again, and is answered again.
    app.say(&carla, waiting, "Hello?").await;
    app.advance_ms(30 * 60_000);
    app.services().run_waiting_automations().await.unwrap();
    assert_eq!(bodies(messages(&app, &carla, waiting).await.1).len(), 4);
    app.stop().await;
}
