//! The default templates of system emails (R31) and the values each can use.
//!
//! Every system email renders the same context: the recipient, the company, and what the event
//! was about (a link, who did it, the project, the item, the new member), each `none` where the
//! event has none. An admin's edited template can use any of them.

use parley_domain::system_email::SystemEmail;
use parley_store::Template;
use serde::Serialize;

/// The values a system email's template can use.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SystemContext {
    pub recipient: Named,
    pub company: Named,
    /// Where the email leads: a set-password link, an invitation's accept link, the item.
    pub link: Option<String>,
    /// R44: a link that is a secret (a set-password or invitation link). Templates never see it:
    /// they render `link` as a slot, filled in when the email is sent.
    #[serde(skip)]
    pub secret_link: Option<String>,
    /// How long `link` works, in words (`1 hour`, `7 days`).
    pub expires_in: Option<String>,
    /// Who did what the email tells of.
    pub actor: Option<Named>,
    pub project: Option<Named>,
    /// The item an assignment is about: `name` is `Ticket #12`, `title` its title.
    pub item: Option<ItemNamed>,
    /// Assignment change: assigned (`true`) or no longer (`false`).
    pub assigned: bool,
    /// The user or team that joined a project.
    pub member: Option<MemberNamed>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Named {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemNamed {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberNamed {
    pub name: String,
    /// `user` or `team`.
    pub kind: &'static str,
}

pub fn named(name: impl Into<String>) -> Named {
    Named { name: name.into() }
}

/// A context with sample values for previews and for checking an edit before it is stored.
pub fn sample(email: SystemEmail) -> SystemContext {
    SystemContext {
        recipient: named("Ada"),
        company: named("Acme"),
        link: Some("http://localhost/reset-password?token=sample".into()),
        secret_link: None,
        expires_in: Some(match email {
            SystemEmail::PasswordReset => "1 hour".into(),
            _ => "7 days".into(),
        }),
        actor: Some(named("Bob")),
        project: Some(named("Support")),
        item: Some(ItemNamed { name: "Ticket #12".into(), title: "Printer on fire".into() }),
        assigned: true,
        member: Some(MemberNamed { name: "Cleo".into(), kind: "user" }),
    }
}

/// The template an install starts with.
pub fn default_template(email: SystemEmail, now: i64) -> Template {
    let (subject, text, html) = defaults(email);
    Template {
        name: email.template_name(),
        subject: subject.into(),
        body_text: text.into(),
        body_html: html.into(),
        updated_at: now,
    }
}

fn defaults(email: SystemEmail) -> (&'static str, &'static str, &'static str) {
    match email {
        SystemEmail::Welcome => (
            "Welcome to {{ company.name }}",
            "Hello {{ recipient.name }},

{% if actor %}{{ actor.name }} added you{% else %}You were added{% endif %} to {{ company.name }}'s support team.
{% if link %}Choose your password here (the link works for {{ expires_in }}):

{{ link }}
{% endif %}",
            r#"<p>Hello {{ recipient.name }},</p>
<p>{% if actor %}{{ actor.name }} added you{% else %}You were added{% endif %} to {{ company.name }}'s support team.</p>
{% if link %}<p><a href="{{ link }}">Choose your password</a> (the link works for {{ expires_in }}).</p>{% endif %}"#,
        ),
        SystemEmail::CustomerInvite => (
            "Your account at {{ company.name }}",
            "Hello {{ recipient.name }},

{{ company.name }} invites you to its support portal, where you can follow your requests.
Choose your password here (the link works for {{ expires_in }}):

{{ link }}
",
            r#"<p>Hello {{ recipient.name }},</p>
<p>{{ company.name }} invites you to its support portal, where you can follow your requests.</p>
<p><a href="{{ link }}">Choose your password</a> (the link works for {{ expires_in }}).</p>"#,
        ),
        SystemEmail::PasswordReset => (
            "Reset your password",
            "Hello {{ recipient.name }},

Someone asked to reset your password at {{ company.name }}. Choose a new one here (the link works
for {{ expires_in }}, once):

{{ link }}

If it was not you, ignore this email: your password stays as it is.
",
            r#"<p>Hello {{ recipient.name }},</p>
<p>Someone asked to reset your password at {{ company.name }}. <a href="{{ link }}">Choose a new one</a> (the link works for {{ expires_in }}, once).</p>
<p>If it was not you, ignore this email: your password stays as it is.</p>"#,
        ),
        SystemEmail::ProjectInvitation => (
            "{{ actor.name }} invites you to {{ project.name }}",
            "Hello {{ recipient.name }},

{{ actor.name }} invites you to become a member of the project {{ project.name }}.
Accept here, or in Parley under Settings:

{{ link }}
",
            r#"<p>Hello {{ recipient.name }},</p>
<p>{{ actor.name }} invites you to become a member of the project <strong>{{ project.name }}</strong>.</p>
<p><a href="{{ link }}">Accept the invitation</a>, or answer it in Parley under Settings.</p>"#,
        ),
        SystemEmail::AssignmentChange => (
            "{% if assigned %}Assigned to you{% else %}No longer assigned to you{% endif %}: [{{ item.name }}] {{ item.title }}",
            "Hello {{ recipient.name }},

{{ actor.name }} {% if assigned %}assigned you to{% else %}took you off{% endif %} {{ item.name }}: {{ item.title }}
{% if link %}
{{ link }}
{% endif %}",
            r#"<p>Hello {{ recipient.name }},</p>
<p>{{ actor.name }} {% if assigned %}assigned you to{% else %}took you off{% endif %} {% if link %}<a href="{{ link }}">{{ item.name }}</a>{% else %}{{ item.name }}{% endif %}: {{ item.title }}</p>"#,
        ),
        SystemEmail::NewProjectMember => (
            "{{ member.name }} joined {{ project.name }}",
            "Hello {{ recipient.name }},

{% if member.kind == \"team\" %}The team {% endif %}{{ member.name }} joined the project {{ project.name }}.
",
            r#"<p>Hello {{ recipient.name }},</p>
<p>{% if member.kind == "team" %}The team {% endif %}<strong>{{ member.name }}</strong> joined the project <strong>{{ project.name }}</strong>.</p>"#,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::templates::render;

    #[test]
    fn r31_every_default_renders_its_sample() {
        for &email in SystemEmail::ALL {
            let rendered = render(&default_template(email, 0), &sample(email)).unwrap();
            assert!(!rendered.subject.is_empty(), "{email}");
            assert!(rendered.text.contains("Ada") && rendered.html.contains("Ada"), "{email}");
        }
    }

    #[test]
    fn r31_the_html_part_escapes_what_people_typed() {
        let mut context = sample(SystemEmail::NewProjectMember);
        context.member = Some(MemberNamed { name: "<script>x</script>".into(), kind: "user" });
        let rendered = render(&default_template(SystemEmail::NewProjectMember, 0), &context).unwrap();
        assert!(!rendered.html.contains("<script>"));
        assert!(rendered.text.contains("<script>x</script>"), "the text part is text");
    }
}
