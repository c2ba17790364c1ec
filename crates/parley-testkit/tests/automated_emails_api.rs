//! R30 through the real server and a real SMTP server: admins add, preview and delete automated
//! email templates (never one an automation sends), and a `send_email` automation writes to the
//! people it names who may see what it is about, and to a fixed address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::{json, Value};

const OPS: &str = "ops@acme.test";

fn closed_template() -> Value {
    json!({
        "name": "closed-thanks",
        "subject": "[{{ item.name }}] {{ item.title }} is {{ item.status }}",
        "body_text": "Hello {{ recipient.name }}, {{ automation.name }}: {{ event }}. {{ link }}",
        "body_html": "<p>Hello {{ recipient.name }}, {{ item.title }}</p>",
    })
}

fn mail_on(trigger: &str, recipients: &[&str], address: Option<&str>) -> Value {
    json!({
        "name": "Mail on close", "trigger": trigger, "action": "send_email",
        "template": "closed-thanks", "recipients": recipients, "address": address,
    })
}

async fn templates(app: &TestApp, admin: &Who) -> Vec<Value> {
    let (status, list) = app.get(admin, "/api/v1/templates").await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[tokio::test]
async fn r30_templates_are_added_previewed_and_deleted_only_when_no_automation_sends_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let listed = templates(&app, &admin).await;
    let kind = |name: &str| listed.iter().find(|t| t["name"] == name).map(|t| t["kind"].clone());
    assert_eq!(kind("new_message"), Some(json!("core")));
    assert_eq!(kind("system.password_reset"), Some(json!("system")));
    let core = listed.iter().find(|t| t["name"] == "new_message").unwrap();
    assert_eq!(core["used_by"][0]["name"], "New message → notify the followers");

    // One that does not render is refused with its part and line, and nothing is written.
    let mut broken = closed_template();
    broken["body_html"] = json!("<p>\n{% if %}</p>");
    let (status, refused) = app.post(&admin, "/api/v1/templates", broken).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_template")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().starts_with("body_html, line 2"), "{refused}");
    assert_eq!(templates(&app, &admin).await.len(), listed.len());

    let made = app.ok(&admin, "/api/v1/templates", closed_template(), 201).await;
    assert_eq!(made["name"], "closed-thanks");
    let (status, taken) = app.post(&admin, "/api/v1/templates", closed_template()).await;
    assert_eq!((status, taken["error"]["code"].as_str()), (409, Some("template_exists")));
    let (status, _) = app.post(&admin, "/api/v1/templates", json!({"name": "new_message", "subject": "x"})).await;
    assert_eq!(status, 400, "the core template's name is its own");

    // Previewed with its own sample values.
    let mut edit = closed_template();
    edit.as_object_mut().unwrap().remove("name");
    let preview = app.ok(&admin, "/api/v1/templates/closed-thanks/preview", edit, 200).await;
    assert_eq!(preview["subject"], "[Ticket #12] Printer on fire is closed");
    assert!(preview["body_text"].as_str().unwrap().contains("Thank on close: Item closed"), "{preview}");

    // Built-in templates are never deleted; one an automation sends is not, and says by whom.
    let (status, refused) = app.delete(&admin, "/api/v1/templates/new_message").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("built_in")));
    let automation = app.ok(&admin, "/api/v1/automations", mail_on("item_closed", &["requesters"], None), 201).await;
    assert_eq!(automation["reaches"], "email to the requesters");
    let (status, refused) = app.delete(&admin, "/api/v1/templates/closed-thanks").await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("template_in_use")));
    let ours = templates(&app, &admin).await.into_iter().find(|t| t["name"] == "closed-thanks").unwrap();
    assert_eq!(
        (ours["used_by"][0]["name"].as_str(), ours["deletable"].as_bool()),
        (Some("Mail on close"), Some(false))
    );

    // An automation may only send an automated email's template that exists.
    for template in ["nowhere", "system.welcome"] {
        let mut wrong = mail_on("item_closed", &["requesters"], None);
        wrong["template"] = json!(template);
        let (status, refused) = app.post(&admin, "/api/v1/automations", wrong).await;
        assert!(status == 400 || status == 422, "{template}: {refused}");
    }

    assert_eq!(app.delete(&admin, &format!("/api/v1/automations/{}", automation["id"])).await.0, 204);
    assert_eq!(app.delete(&admin, "/api/v1/templates/closed-thanks").await.0, 204);
    assert_eq!(app.delete(&admin, "/api/v1/templates/closed-thanks").await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn r30_an_email_automation_writes_to_whom_it_names_who_may_see_it() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    app.ok(&d.admin, "/api/v1/templates", closed_template(), 201).await;
    let automation = mail_on("item_closed", &["requesters", "assignees"], Some(OPS));
    let made = app.ok(&d.admin, "/api/v1/automations", automation, 201).await;
    assert_eq!(made["reaches"], "email to the requesters, the assignees and ops@acme.test");

    let (status, _) = app.patch(&d.admin, &format!("/api/v1/items/{}", d.ticket), json!({"status": "closed"})).await;
    assert_eq!(status, 200);
    app.deliver().await;
    for address in [Desk::CARLA, Desk::MIA, OPS] {
        let mails = smtp.mails_to(address);
        assert_eq!(mails.len(), 1, "{address}: one email");
        assert_eq!(mails[0].subject(), format!("[Ticket #{}] Printer on fire is closed", d.ticket));
        assert!(mails[0].text().contains("Mail on close: Item closed"), "{}", mails[0].text());
    }
    assert!(smtp.mails_to(OPS)[0].text().starts_with("Hello ops@acme.test,"), "the fixed address is named by itself");
    assert!(smtp.mails_to(Desk::CARLA)[0].text().contains("/portal"), "a customer is sent to the portal");
    assert!(smtp.mails_to(Desk::MIA)[0].text().contains(&format!("/items/{}", d.ticket)));
    assert_eq!(
        smtp.mails().len(),
        3,
        "no one else: {:?}",
        smtp.mails().iter().map(|m| m.to.clone()).collect::<Vec<_>>()
    );
    app.stop().await;
}

#[tokio::test]
async fn r30_an_email_about_an_internal_conversation_never_reaches_a_customer() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    app.ok(&d.admin, "/api/v1/templates", closed_template(), 201).await;
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;
    // Carla asked for the ticket and follows its public talk; the internal one is the team's.
    app.ok(&d.admin, "/api/v1/automations", mail_on("conversation_closed", &["requesters", "assignees"], None), 201)
        .await;

    app.ok(&d.admin, &format!("/api/v1/conversations/{internal}/state"), json!({"action": "close"}), 200).await;
    app.deliver().await;
    assert_eq!(smtp.mails_to(Desk::MIA).len(), 1, "the assignee may see it");
    assert!(smtp.mails_to(Desk::CARLA).is_empty(), "the requester may not: internal");

    app.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), json!({"action": "close"}), 200).await;
    app.deliver().await;
    assert_eq!(smtp.mails_to(Desk::CARLA).len(), 1, "the public one reaches her");
    app.stop().await;
}

#[tokio::test]
async fn r30_an_email_automation_needs_a_template_and_someone_to_write_to() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.ok(&admin, "/api/v1/templates", closed_template(), 201).await;
    let nobody = mail_on("item_closed", &[], None);
    let (status, refused) = app.post(&admin, "/api/v1/automations", nobody).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_action")), "{refused}");
    let bad_address = mail_on("item_closed", &[], Some("not an address"));
    assert_eq!(app.post(&admin, "/api/v1/automations", bad_address).await.0, 422);
    let mut no_template = mail_on("item_closed", &["requesters"], None);
    no_template["template"] = Value::Null;
    assert_eq!(app.post(&admin, "/api/v1/automations", no_template).await.0, 422);
    let (_, list) = app.get(&admin, "/api/v1/automations").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "only the core rule: nothing refused was written");
    // What the action does not use is not kept.
    let mut extra = mail_on("item_closed", &["followers"], None);
    extra["body"] = json!("ignored");
    let made = app.ok(&admin, "/api/v1/automations", extra, 201).await;
    assert_eq!(made["body"], "");
    let (status, changed) = app
        .call(
            Method::PUT,
            Some(&admin),
            &format!("/api/v1/automations/{}", made["id"]),
            Some(mail_on("item_created", &["followers"], None)),
        )
        .await;
    assert_eq!((status, changed["trigger"].as_str()), (200, Some("item_created")));
    app.stop().await;
}
