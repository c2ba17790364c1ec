//! Every message reaches someone on the preferences a new install gives its users (R41–R43):
//! taking part by writing, through the real server, its socket, its SMTP listener and a real SMTP
//! server for what goes out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);
const SUPPORT: &str = "support@acme.test";

async fn visitor(app: &TestApp) -> Who {
    let (status, session) = app.call(Method::POST, None, "/api/v1/widget/visitors", Some(json!({}))).await;
    assert_eq!(status, 200, "{session}");
    Who { token: session["token"].as_str().unwrap().into(), id: session["customer"]["id"].as_i64().unwrap() }
}

/// A visitor's live chat: answers the conversation.
async fn chat(app: &TestApp, visitor: &Who, first: &str) -> i64 {
    let conversation =
        app.ok(visitor, "/api/v1/conversations", json!({"subject": "Live chat", "visibility": "public"}), 201).await;
    let id = conversation["id"].as_i64().unwrap();
    write(app, visitor, id, first).await;
    id
}

/// A customer's message from the widget; answers whom it reached.
async fn write(app: &TestApp, visitor: &Who, conversation: i64, body: &str) -> Vec<String> {
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let said = app.ok(visitor, &path, json!({"body": body, "channel": "widget"}), 201).await;
    parties(&said["audience"])
}

#[tokio::test]
async fn r41_a_visitors_follow_ups_reach_the_agent_who_answered_pushed_then_emailed_once() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    // Ben is as a new user is: "messages from customers: only from my conversations".
    let ben = app.user(&admin, "ben@acme.test").await;
    let vera = visitor(&app).await;
    let id = chat(&app, &vera, "Hello, my order is late").await;
    let said = app.say(&ben, id, "Hi! Let me look").await;
    assert_eq!(said["message"]["author"]["id"], ben.id);
    let (_, conversation) = app.get(&ben, &format!("/api/v1/conversations/{id}")).await;
    assert_eq!(conversation["taking_part"], json!([ben.id]), "{conversation}");

    // While Ben is connected, the follow-up is pushed to him, notifying him.
    let mut socket = app.socket(&ben).await;
    let reached = write(&app, &vera, id, "It is order 1234").await;
    assert_eq!(reached, vec![format!("user:{}", ben.id)], "the agent who answered, and only him");
    let event = socket.next_of("message", WAIT).await.expect("pushed to the agent who answered");
    assert_eq!(event["message"]["body"], "It is order 1234");
    socket.close().await;

    // Away, he is emailed what he did not see, once.
    write(&app, &vera, id, "Are you still there?").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let mails = smtp.mails_to("ben@acme.test");
    assert_eq!(mails.len(), 1, "one email: {:?}", mails.iter().map(|m| m.subject()).collect::<Vec<_>>());
    assert!(mails[0].text().contains("Are you still there?"), "{}", mails[0].text());

    // The chat is among his conversations: "customer replies".
    let (_, page) = app.get(&ben, "/api/v1/views/customer_replies").await;
    let ids: Vec<i64> = page["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&id), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn r41_a_customers_emailed_answer_to_an_agents_reply_reaches_that_agent() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let ben = app.user(&admin, "ben@acme.test").await;
    let zoe = "zoe@client.example";
    let request = format!(
        "From: Zoe <{zoe}>\r\nTo: {SUPPORT}\r\nSubject: Broken invoice\r\nMessage-ID: <q1@client.example>\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy invoice is wrong.\r\n"
    );
    assert!(smtp_send(app.smtp_in, zoe, &[SUPPORT], request.as_bytes()).await.unwrap().starts_with("250"));
    let (_, log) = app.get(&admin, "/api/v1/incoming-emails").await;
    let id = log[0]["conversation_id"].as_i64().unwrap_or_else(|| panic!("a new request: {log}"));

    app.say(&ben, id, "Sorry about that, a new one is on its way").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let to_zoe = smtp.mails_to(zoe);
    let reply_to = to_zoe.last().expect("Zoe is emailed Ben's reply").header("Reply-To").unwrap();
    let reply_to = reply_to.trim_start_matches('<').trim_end_matches('>').to_string();
    let answer = format!(
        "From: Zoe <{zoe}>\r\nTo: {reply_to}\r\nSubject: Re: Broken invoice\r\nMessage-ID: <q2@client.example>\r\n\
         Date: Sun, 22 Nov 2026 10:05:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThank you!\r\n"
    );
    assert!(smtp_send(app.smtp_in, zoe, &[&reply_to], answer.as_bytes()).await.unwrap().starts_with("250"));
    let (_, messages) = app.get(&ben, &format!("/api/v1/conversations/{id}/messages")).await;
    let last = messages.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["body"], "Thank you!");
    let (_, audience) = app.get(&ben, &format!("/api/v1/messages/{}/audience", last["id"])).await;
    assert!(parties(&audience).contains(&format!("user:{}", ben.id)), "{audience}");
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to("ben@acme.test").len(), 1, "Ben hears of the answer");
    app.stop().await;
}

#[tokio::test]
async fn r41_taking_part_grants_no_access_a_narrowed_scope_ends_it() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let ben = app.user(&d.admin, "ben@acme.test").await;
    let id = app.conversation(&d.admin, d.ticket, "public").await;
    app.say(&ben, id, "I am on it").await;
    assert_eq!(app.get(&ben, &format!("/api/v1/conversations/{id}")).await.0, 200);
    let narrow = json!({"scope": "followed_projects"});
    assert_eq!(app.patch(&d.admin, &format!("/api/v1/users/{}/preferences", ben.id), narrow).await.0, 200);
    assert_eq!(app.get(&ben, &format!("/api/v1/conversations/{id}")).await.0, 404, "gone like any other");
    let said = app.say(&d.carla, id, "Any news?").await;
    assert!(!parties(&said["audience"]).contains(&format!("user:{}", ben.id)), "{said}");
    app.stop().await;
}
