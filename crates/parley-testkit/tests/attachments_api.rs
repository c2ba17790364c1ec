//! Attachments through the real server: a file is served exactly to those who may read its
//! message, by every URL form (R7, R20, R33); refused uploads and posts write nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;
use std::time::Duration;

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];

/// Uploads a file and posts it in a message; answers the attachment's id.
async fn send_file(app: &TestApp, who: &Who, conversation: i64, name: &str, ty: &str, bytes: &[u8]) -> i64 {
    let (status, file) = app.upload(who, conversation, name, ty, bytes).await;
    assert_eq!(status, 201, "{file}");
    let id = file["id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let posted = app.ok(who, &path, json!({"body": format!("Here is {name}"), "attachments": [id]}), 201).await;
    assert_eq!(posted["message"]["attachments"][0]["id"], id, "{posted}");
    id
}

fn urls(id: i64, name: &str) -> [String; 2] {
    [format!("/api/v1/attachments/{id}"), format!("/api/v1/attachments/{id}/{name}")]
}

#[tokio::test]
async fn r7_r20_every_asker_fetches_exactly_the_files_of_messages_they_may_read() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let dora = app.customer(&admin, "dora@other.example").await;
    let visitor = app.visitor().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let (status, _) = app
        .patch(&admin, &format!("/api/v1/users/{}/preferences", mia.id), json!({"scope": "followed_projects"}))
        .await;
    assert_eq!(status, 200);
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    let internal = app.conversation(&admin, ticket, "internal").await;

    let screenshot = send_file(&app, &carla, public, "screen.png", "image/png", PNG).await;
    let notes = send_file(&app, &admin, internal, "notes.txt", "text/plain", b"customer is on the old plan").await;
    let reply = send_file(&app, &admin, public, "fix.pdf", "application/pdf", b"%PDF-1.7 fix").await;
    let (status, draft) = app.upload(&carla, public, "draft.txt", "text/plain", b"not sent yet").await;
    assert_eq!(status, 201);
    let draft = draft["id"].as_i64().unwrap();

    let files = [
        ("screen.png", screenshot, PNG.to_vec()),
        ("notes.txt", notes, b"customer is on the old plan".to_vec()),
        ("fix.pdf", reply, b"%PDF-1.7 fix".to_vec()),
        ("draft.txt", draft, b"not sent yet".to_vec()),
    ];
    // Who may fetch which: the admin every sent file (not Carla's unsent one), Carla the public
    // files and her own upload, nobody else anything.
    let table: [(&str, &Who, [bool; 4]); 5] = [
        ("admin", &admin, [true, true, true, false]),
        ("carla", &carla, [true, false, true, true]),
        ("mia (other projects only)", &mia, [false; 4]),
        ("dora (another customer)", &dora, [false; 4]),
        ("a visitor", &visitor, [false; 4]),
    ];
    for (asker, who, may) in table {
        for ((name, id, bytes), may) in files.iter().zip(may) {
            for url in urls(*id, name) {
                let (status, headers, body) = app.fetch(Some(who), &url).await;
                if may {
                    assert_eq!(status, 200, "{asker} {url}");
                    assert_eq!(&body, bytes, "{asker} {url}");
                    assert_eq!(headers["x-content-type-options"], "nosniff");
                    assert!(headers["content-security-policy"].to_str().unwrap().contains("sandbox"));
                    assert_eq!(headers["cache-control"], "private, no-store");
                    let disposition = headers["content-disposition"].to_str().unwrap();
                    let how = if *name == "screen.png" { "inline" } else { "attachment" };
                    assert!(disposition.starts_with(how), "{name}: {disposition}");
                    assert!(disposition.contains(name), "{disposition}");
                } else {
                    assert_eq!(status, 404, "{asker} must not fetch {name} at {url}");
                    assert!(!String::from_utf8_lossy(&body).contains("plan"), "{asker}: nothing of it");
                }
            }
        }
    }
    for url in urls(notes, "notes.txt") {
        assert_eq!(app.fetch(None, &url).await.0, 401, "nobody logged in");
    }
    assert_eq!(app.fetch(Some(&admin), "/api/v1/attachments/999999").await.0, 404);

    // The messages list each file on its message, for those who read them.
    let (_, hers) = app.get(&carla, &format!("/api/v1/conversations/{public}/messages")).await;
    let listed: Vec<i64> = hers
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().unwrap().clone())
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![screenshot, reply]);
    let (_, ours) = app.get(&admin, &format!("/api/v1/conversations/{internal}/messages")).await;
    assert_eq!(
        ours[0]["attachments"][0],
        json!({"id": notes, "name": "notes.txt", "content_type": "text/plain", "size": 27})
    );
    app.stop().await;
}

#[tokio::test]
async fn r33_a_file_held_or_made_internal_with_its_message_is_never_served_to_a_customer() {
    const GUARD_MS: i64 = 10_000;
    let app = spawn_app_with(|c| c.send_guard = Some(Duration::from_millis(GUARD_MS as u64))).await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;

    let oops = send_file(&app, &admin, public, "salaries.png", "image/png", PNG).await;
    let undone = send_file(&app, &admin, public, "draft.pdf", "application/pdf", b"%PDF-1.7").await;
    let fine = send_file(&app, &admin, public, "manual.pdf", "application/pdf", b"%PDF-1.7 manual").await;
    for (id, name) in [(oops, "salaries.png"), (undone, "draft.pdf"), (fine, "manual.pdf")] {
        for url in urls(id, name) {
            assert_eq!(app.fetch(Some(&carla), &url).await.0, 404, "held: not yet for customers ({url})");
            assert_eq!(app.fetch(Some(&admin), &url).await.0, 200, "staff see it sending ({url})");
        }
    }
    let messages = app.get(&admin, &format!("/api/v1/conversations/{public}/messages")).await.1;
    let message_of = |file: i64| {
        messages.as_array().unwrap().iter().find(|m| m["attachments"][0]["id"] == file).unwrap()["id"].as_i64().unwrap()
    };
    app.ok(&admin, &format!("/api/v1/messages/{}/make-internal", message_of(oops)), json!({}), 200).await;
    app.ok(&admin, &format!("/api/v1/messages/{}/undo", message_of(undone)), json!({}), 200).await;
    app.advance_ms(GUARD_MS + 1);
    app.deliver().await;

    for url in urls(oops, "salaries.png") {
        assert_eq!(app.fetch(Some(&carla), &url).await.0, 404, "made internal: never for a customer");
        assert_eq!(app.fetch(Some(&admin), &url).await.0, 200, "still the team's");
    }
    for url in urls(undone, "draft.pdf") {
        assert_eq!(app.fetch(Some(&carla), &url).await.0, 404);
        assert_eq!(app.fetch(Some(&admin), &url).await.0, 404, "undone: gone for everyone");
    }
    for url in urls(fine, "manual.pdf") {
        assert_eq!(app.fetch(Some(&carla), &url).await.0, 200, "released with its message");
    }
    let (_, hers) = app.get(&carla, &format!("/api/v1/conversations/{public}/messages")).await;
    assert_eq!(hers.as_array().unwrap().len(), 1, "{hers}");
    assert_eq!(hers[0]["attachments"][0]["id"], fine);
    app.stop().await;
}

#[tokio::test]
async fn refused_uploads_and_posts_write_nothing_and_say_why() {
    let app = spawn_app_with(|c| c.attachment_max_mb = 1).await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    let internal = app.conversation(&admin, ticket, "internal").await;

    for (name, ty, bytes, status, code) in [
        ("page.html", "text/html", &b"<script>alert(1)</script>"[..], 415, "unsupported_type"),
        ("logo.svg", "image/svg+xml", b"<svg onload=alert(1)>", 415, "unsupported_type"),
        ("cat.png", "image/png", b"<html>not a picture</html>", 415, "unsupported_type"),
        ("setup.exe", "application/octet-stream", b"MZ", 415, "unsupported_type"),
        ("..", "text/plain", b"x", 400, "invalid_input"),
        ("empty.txt", "text/plain", b"", 400, "invalid_input"),
    ] {
        let (got, body) = app.upload(&carla, public, name, ty, bytes).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{name}: {body}");
    }
    let big = vec![b'a'; 1024 * 1024 + 1];
    let (status, body) = app.upload(&carla, public, "big.txt", "text/plain", &big).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")), "{body}");
    let exact = vec![b'a'; 1024 * 1024];
    assert_eq!(app.upload(&carla, public, "exact.txt", "text/plain", &exact).await.0, 201, "the limit itself is fine");
    let (status, _) = app.upload(&carla, internal, "x.txt", "text/plain", b"x").await;
    assert_eq!(status, 404, "a customer cannot upload where she cannot read");
    let (status, body) = app
        .call(reqwest::Method::POST, Some(&carla), &format!("/api/v1/conversations/{public}/attachments"), None)
        .await;
    assert_eq!(status, 400, "no name: {body}");
    for action in ["close", "lock"] {
        app.ok(&admin, &format!("/api/v1/conversations/{public}/state"), json!({"action": action}), 200).await;
    }
    let (status, body) = app.upload(&admin, public, "x.txt", "text/plain", b"x").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conversation_locked")));
    app.ok(&admin, &format!("/api/v1/conversations/{public}/state"), json!({"action": "unlock"}), 200).await;
    let incoming = app.data_dir.path().join("attachments/incoming");
    assert_eq!(std::fs::read_dir(&incoming).unwrap().count(), 0, "no part file is left behind");
    let folders = std::fs::read_dir(app.data_dir.path().join("attachments")).unwrap().count();
    assert_eq!(folders, 2, "incoming/ and the one accepted file's folder");

    // A post may carry only its author's own unsent uploads of this conversation.
    let hers = app.upload(&carla, public, "log.txt", "text/plain", b"log").await.1["id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{public}/messages");
    let (status, body) = app
        .post(
            &mia,
            &format!("/api/v1/conversations/{internal}/messages"),
            json!({"body": "mine now", "attachments": [hers]}),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("attachment_unavailable")), "{body}");
    let (status, body) = app.post(&admin, &path, json!({"body": "mine now", "attachments": [hers]})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("attachment_unavailable")), "{body}");
    let (status, _) = app.post(&carla, &path, json!({"body": "twice", "attachments": [hers, hers]})).await;
    assert_eq!(status, 422);
    let eleven: Vec<i64> = (0..11).map(|i| i + 1000).collect();
    let (status, body) = app.post(&carla, &path, json!({"body": "many", "attachments": eleven})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_input")));
    let (_, messages) = app.get(&admin, &path).await;
    assert_eq!(messages.as_array().unwrap().len(), 0, "no refused post was kept: {messages}");
    let (_, messages) = app.get(&admin, &format!("/api/v1/conversations/{internal}/messages")).await;
    assert_eq!(messages.as_array().unwrap().len(), 0);

    // A file alone is a message; once sent it cannot be sent again.
    let sent = app.ok(&carla, &path, json!({"body": "", "attachments": [hers]}), 201).await;
    assert_eq!(
        (sent["message"]["body"].as_str(), sent["message"]["attachments"][0]["name"].as_str()),
        (Some(""), Some("log.txt"))
    );
    let (status, _) = app.post(&carla, &path, json!({"body": "again", "attachments": [hers]})).await;
    assert_eq!(status, 422);
    let (status, _) = app.post(&carla, &path, json!({"body": ""})).await;
    assert_eq!(status, 400, "without a file a message needs words");
    app.stop().await;
}

#[tokio::test]
async fn an_upload_no_message_took_is_removed_after_a_day_and_shared_bytes_are_kept() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    let sent = send_file(&app, &admin, public, "a.txt", "text/plain", b"same bytes").await;
    let (_, twin) = app.upload(&admin, public, "b.txt", "text/plain", b"same bytes").await;
    let (_, lone) = app.upload(&admin, public, "c.txt", "text/plain", b"only here").await;
    let (twin, lone) = (twin["id"].as_i64().unwrap(), lone["id"].as_i64().unwrap());
    let files = app.data_dir.path().join("attachments");
    let stored = |bytes: &[u8]| {
        use sha2::Digest;
        let sha = format!("{:x}", sha2::Sha256::digest(bytes));
        files.join(&sha[..2]).join(sha).exists()
    };
    assert!(stored(b"same bytes") && stored(b"only here"));

    app.advance_ms(23 * 3600 * 1000);
    app.services().prune_unsent_attachments().await.unwrap();
    assert_eq!(app.fetch(Some(&admin), &format!("/api/v1/attachments/{lone}")).await.0, 200, "kept for a day");
    app.advance_ms(2 * 3600 * 1000);
    app.services().prune_unsent_attachments().await.unwrap();
    for id in [twin, lone] {
        assert_eq!(app.fetch(Some(&admin), &format!("/api/v1/attachments/{id}")).await.0, 404);
    }
    assert_eq!(app.fetch(Some(&admin), &format!("/api/v1/attachments/{sent}")).await.0, 200);
    assert!(stored(b"same bytes"), "bytes a sent file names are kept");
    assert!(!stored(b"only here"), "bytes nothing names are removed");
    app.stop().await;
}

#[tokio::test]
async fn r14_an_emailed_message_lists_its_files_as_links_that_ask_for_the_readers_access() {
    let (app, sink) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    let manual = send_file(&app, &admin, public, "user manual.pdf", "application/pdf", &vec![b'%'; 2048]).await;

    app.advance_ms(EMAIL_DELAY_MS + 1);
    app.deliver().await;
    let mails = sink.wait_for(1, Duration::from_secs(5)).await;
    let text = mails[0].text();
    let link = format!("{}/api/v1/attachments/{manual}/user%20manual.pdf?login=portal", app.base);
    assert!(text.contains(&format!("Attached: user manual.pdf (2 KB) {link}")), "{text}");
    // The HTML part escapes the slashes of what it prints.
    let html = mails[0].parsed().body_html(0).unwrap().replace("&#x2f;", "/");
    assert!(html.contains(&format!("<a href=\"{link}\">user manual.pdf</a>")), "{html}");

    // The link asks for access: a browser that is not logged in is sent to the portal's login
    // and back; an API client gets 401; the customer's session gets the file.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = browser.get(&link).header("accept", "text/html,*/*").send().await.unwrap();
    assert_eq!(res.status(), 303);
    let back = format!("/portal?next=/api/v1/attachments/{manual}/user%2520manual.pdf%3Flogin%3Dportal");
    assert_eq!(res.headers()["location"], back.as_str());
    assert_eq!(browser.get(&link).send().await.unwrap().status(), 401);
    let path = link.trim_start_matches(&app.base);
    let (status, _, bytes) = app.fetch(Some(&carla), path).await;
    assert_eq!((status, bytes.len()), (200, 2048));
    app.stop().await;
}
