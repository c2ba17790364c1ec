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

/// Waits until the server counts `who` as available (their socket's connection is recorded in
/// the background).
async fn until_available(app: &TestApp, admin: &Who, who: &Who) {
    for _ in 0..100 {
        let (_, user) = app.get(admin, &format!("/api/v1/users/{}", who.id)).await;
        if user["available"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("user {} never became available", who.id);
}

async fn assignees(app: &TestApp, who: &Who, conversation: i64) -> Vec<i64> {
    let (_, c) = app.get(who, &format!("/api/v1/conversations/{conversation}")).await;
    c["assignees"].as_array().unwrap().iter().map(|a| a.as_i64().unwrap()).collect()
}

#[tokio::test]
async fn r42_new_chats_are_assigned_round_robin_among_the_available_and_reach_them_live() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ben, cy) = (app.user(&admin, "ben@acme.test").await, app.user(&admin, "cy@acme.test").await);
    let mut ben_socket = app.socket(&ben).await;
    let _cy_socket = app.socket(&cy).await;
    until_available(&app, &admin, &ben).await;
    until_available(&app, &admin, &cy).await;
    // The admin is not connected: not available, passed by.
    let mut routed = Vec::new();
    for n in 0..3 {
        let v = visitor(&app).await;
        let id = chat(&app, &v, &format!("Question {n}")).await;
        routed.push(assignees(&app, &admin, id).await);
        if n == 0 {
            let event = ben_socket.next_of("message", WAIT).await.expect("pushed to whom it was routed");
            assert_eq!(event["message"]["body"], "Question 0");
        }
    }
    assert_eq!(routed, vec![vec![ben.id], vec![cy.id], vec![ben.id]]);
    // "Mine" finds them; the follow-up reaches Ben.
    let (_, mine) = app.get(&ben, "/api/v1/views/open_with_customers?filter=assigned_to_me").await;
    assert_eq!(mine["conversations"].as_array().unwrap().len(), 2, "{mine}");
    app.stop().await;
}

#[tokio::test]
async fn r42_the_away_the_full_and_those_asking_for_none_are_passed_by_then_the_admins_hear() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ben, cy, di) = (
        app.user(&admin, "ben@acme.test").await,
        app.user(&admin, "cy@acme.test").await,
        app.user(&admin, "di@acme.test").await,
    );
    let _sockets = [app.socket(&ben).await, app.socket(&cy).await, app.socket(&di).await];
    for who in [&ben, &cy, &di] {
        until_available(&app, &admin, who).await;
    }
    // Ben is away (colleagues see it), Cy asks for no customer messages, Di may hold one.
    let me = app.call(Method::PUT, Some(&ben), "/api/v1/me/away", Some(json!({"away": true}))).await;
    assert_eq!((me.0, me.1["away"].clone(), me.1["available"].clone()), (200, json!(true), json!(false)));
    let (_, users) = app.get(&di, "/api/v1/users").await;
    let shown = users.as_array().unwrap().iter().find(|u| u["id"] == ben.id).unwrap().clone();
    assert_eq!((shown["away"].clone(), shown["available"].clone()), (json!(true), json!(false)));
    let path = format!("/api/v1/users/{}/preferences", cy.id);
    assert_eq!(app.patch(&cy, &path, json!({"customer_messages": "none"})).await.0, 200);
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"routing_cap": 1})).await.0, 200);

    let first = chat(&app, &visitor(&app).await, "One").await;
    assert_eq!(assignees(&app, &admin, first).await, vec![di.id]);
    // Di is full, the others are passed by: nobody is assigned, and the admin hears of it.
    let v = visitor(&app).await;
    let conversation =
        app.ok(&v, "/api/v1/conversations", json!({"subject": "Live chat", "visibility": "public"}), 201).await;
    let second = conversation["id"].as_i64().unwrap();
    let reached = write(&app, &v, second, "Two").await;
    assert!(assignees(&app, &admin, second).await.is_empty());
    assert_eq!(reached, vec![format!("user:{}", admin.id)], "the admins are the last resort");
    let (_, said) = app.get(&admin, &format!("/api/v1/conversations/{second}/messages")).await;
    let (_, audience) = app.get(&admin, &format!("/api/v1/messages/{}/audience", said[0]["id"])).await;
    assert_eq!(audience["recipients"][0]["reasons"], json!(["fallback"]), "{audience}");
    assert_eq!(audience["recipients"][0]["notify"], true);
    // Back from away, Ben gets the next one; a bad body is refused.
    assert_eq!(app.call(Method::PUT, Some(&ben), "/api/v1/me/away", Some(json!({"away": false}))).await.0, 200);
    assert_eq!(app.call(Method::PUT, Some(&ben), "/api/v1/me/away", Some(json!({"away": "no"}))).await.0, 400);
    let third = chat(&app, &visitor(&app).await, "Three").await;
    assert_eq!(assignees(&app, &admin, third).await, vec![ben.id]);
    app.stop().await;
}

#[tokio::test]
async fn r42_routing_everyone_reaches_all_who_may_see_it_until_someone_takes_part() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ben = app.user(&admin, "ben@acme.test").await;
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"routing": "everyone"})).await.0, 200);
    let v = visitor(&app).await;
    let conversation =
        app.ok(&v, "/api/v1/conversations", json!({"subject": "Live chat", "visibility": "public"}), 201).await;
    let id = conversation["id"].as_i64().unwrap();
    let reached = write(&app, &v, id, "Hello all").await;
    assert_eq!(reached, vec![format!("user:{}", admin.id), format!("user:{}", ben.id)]);
    assert!(assignees(&app, &admin, id).await.is_empty(), "nobody is assigned");
    app.say(&ben, id, "I have it").await;
    assert_eq!(write(&app, &v, id, "Thanks").await, vec![format!("user:{}", ben.id)], "Ben took part");
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"routing": "nobody"})).await.0, 400);
    app.stop().await;
}

#[tokio::test]
async fn r42_an_independent_conversation_has_an_assignee_carried_to_its_ticket_and_a_deactivated_ones_are_rerouted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ben, cy) = (app.user(&admin, "ben@acme.test").await, app.user(&admin, "cy@acme.test").await);
    let _sockets = [app.socket(&ben).await, app.socket(&cy).await];
    until_available(&app, &admin, &ben).await;
    until_available(&app, &admin, &cy).await;
    let id = chat(&app, &visitor(&app).await, "Help").await;
    assert_eq!(assignees(&app, &admin, id).await, vec![ben.id]);
    // Deactivated, Ben's open conversations go to someone available.
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}", ben.id), json!({"active": false})).await.0, 200);
    assert_eq!(assignees(&app, &admin, id).await, vec![cy.id]);
    // Assigned by hand, then linked to a new ticket: the ticket's assignee is the chat's.
    let people = format!("/api/v1/conversations/{id}/people");
    let body = json!({"role": "assignee", "party": {"kind": "user", "id": admin.id}});
    let c = app.ok(&admin, &people, body, 200).await;
    assert_eq!(c["assignees"], json!([admin.id, cy.id]));
    let (status, _) = app.delete(&admin, &format!("{people}/assignee/user/{}", cy.id)).await;
    assert_eq!(status, 200);
    let customer = json!({"role": "assignee", "party": {"kind": "customer", "id": 1}});
    assert_eq!(app.post(&admin, &people, customer).await.0, 422);
    let project = app.project(&admin, "Support").await;
    let linked = app
        .ok(
            &admin,
            &format!("/api/v1/conversations/{id}/link"),
            json!({"new_item": {"kind": "ticket", "project_id": project, "title": "Help"}}),
            200,
        )
        .await;
    assert_eq!(linked["item"]["assignees"], json!([admin.id]), "{linked}");
    assert_eq!(assignees(&app, &admin, id).await, vec![admin.id], "a linked conversation's are its item's");
    let (_, unassigned) = app.get(&admin, "/api/v1/views/open_with_customers?filter=unassigned").await;
    assert!(unassigned["conversations"].as_array().unwrap().iter().all(|c| c["id"] != id));
    app.stop().await;
}

#[tokio::test]
async fn r43_a_message_is_seen_only_when_a_visible_page_shows_it_and_is_emailed_otherwise() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let desk = app.desk().await;
    let id = desk.public;
    let mut carla = app.socket(&desk.carla).await;
    let said = app.say(&desk.mia, id, "Your printer is fixed").await;
    let message = said["message"]["id"].as_i64().unwrap();
    let pushed = carla.next_of("message", WAIT).await.expect("pushed to Carla's connection");
    let number = pushed["message"]["number"].as_i64().unwrap();
    // Received, and even open in a hidden tab: not seen, not read.
    carla
        .send_json(json!({"type": "looking", "conversation_id": id, "visible": false, "newest_in_view": number}))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let carla_party = ("customer", desk.carla.id);
    assert_eq!(app.seen_at(&desk.mia, id, message, carla_party).await, None, "a hidden page sees nothing");
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to(Desk::CARLA).len(), 1, "what she did not see is emailed");

    // Shown in a visible page: seen, and its email is never sent.
    let said = app.say(&desk.mia, id, "And the toner too").await;
    let message = said["message"]["id"].as_i64().unwrap();
    let pushed = carla.next_of("message", WAIT).await.expect("pushed");
    let number = pushed["message"]["number"].as_i64().unwrap();
    carla.send_json(json!({"type": "looking", "conversation_id": id, "visible": true, "newest_in_view": number})).await;
    app.until_seen(&desk.mia, id, message, carla_party).await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to(Desk::CARLA).len(), 1, "seen: no second email");
    app.stop().await;
}

#[tokio::test]
async fn r43_whoever_has_a_conversation_open_gets_its_messages_live_if_they_may_see_it() {
    let app = spawn_app().await;
    let desk = app.desk().await;
    let id = desk.public;
    // Ben is in no audience of it ("only my conversations"), but may see it, and has it open.
    let ben = app.user(&desk.admin, "ben@acme.test").await;
    let mut socket = app.socket(&ben).await;
    socket.send_json(json!({"type": "looking", "conversation_id": id, "visible": false})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let said = app.say(&desk.carla, id, "Still broken").await;
    assert!(!parties(&said["audience"]).contains(&format!("user:{}", ben.id)), "not notified");
    let event = socket.next_of("message", WAIT).await.expect("on the screen of whoever has it open");
    assert_eq!((event["message"]["body"].as_str(), event["sound"].as_bool()), (Some("Still broken"), Some(false)));
    // Looking elsewhere: no more.
    socket.send_json(json!({"type": "looking", "conversation_id": null, "visible": true})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.say(&desk.carla, id, "Hello?").await;
    assert!(socket.next_of("message", Duration::from_millis(500)).await.is_none());
    // Out of his scope, the conversation is not his to look at: nothing comes.
    socket.send_json(json!({"type": "looking", "conversation_id": id, "visible": true})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let narrow = json!({"scope": "followed_projects"});
    assert_eq!(app.patch(&desk.admin, &format!("/api/v1/users/{}/preferences", ben.id), narrow).await.0, 200);
    let mut socket = app.socket(&ben).await;
    socket.send_json(json!({"type": "looking", "conversation_id": id, "visible": true})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.say(&desk.carla, id, "Anyone?").await;
    assert!(socket.next_of("message", Duration::from_millis(500)).await.is_none(), "the door asks the scope");
    app.stop().await;
}

#[tokio::test]
async fn r43_a_new_customer_conversation_arrives_live_in_the_list_of_every_user_who_may_see_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (ben, cy, dan) = (
        app.user(&admin, "ben@acme.test").await,
        app.user(&admin, "cy@acme.test").await,
        app.user(&admin, "dan@acme.test").await,
    );
    let narrow = json!({"scope": "followed_projects"});
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}/preferences", dan.id), narrow).await.0, 200);
    let mut sockets = [app.socket(&ben).await, app.socket(&cy).await, app.socket(&dan).await];
    until_available(&app, &admin, &ben).await;
    let id = chat(&app, &visitor(&app).await, "Is anyone there?").await;
    let routed = assignees(&app, &admin, id).await;
    let [ben_socket, cy_socket, dan_socket] = &mut sockets;
    for (who, socket) in [(&ben, ben_socket), (&cy, cy_socket)] {
        let event = socket.next_of("message", WAIT).await.expect("the new chat, live");
        assert_eq!(event["message"]["conversation_id"], id);
        assert_eq!(event["sound"].as_bool(), Some(routed == vec![who.id]), "only whom it was routed to is notified");
    }
    assert!(dan_socket.next_of("message", Duration::from_millis(500)).await.is_none(), "outside Dan's scope");
    app.stop().await;
}

#[tokio::test]
async fn r43_r44_an_onlooker_learns_of_a_reply_taken_back() {
    let app = spawn_app_with(|c| c.send_guard = Some(Duration::from_secs(10))).await;
    let desk = app.desk().await;
    let ben = app.user(&desk.admin, "ben@acme.test").await;
    let mut socket = app.socket(&ben).await;
    socket.send_json(json!({"type": "looking", "conversation_id": desk.public, "visible": true})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let said = app.say(&desk.mia, desk.public, "Oops, wrong customer").await;
    let message = said["message"]["id"].as_i64().unwrap();
    assert!(!parties(&said["audience"]).contains(&format!("user:{}", ben.id)), "an onlooker, not a recipient");
    socket.next_of("message", WAIT).await.expect("on the onlooker's screen");
    app.ok(&desk.mia, &format!("/api/v1/messages/{message}/undo"), json!({}), 200).await;
    let taken = socket.next_of("retracted", WAIT).await.expect("the onlooker learns it was taken back");
    assert_eq!((taken["message"]["id"].as_i64(), taken["how"].as_str()), (Some(message), Some("undone")));
}
