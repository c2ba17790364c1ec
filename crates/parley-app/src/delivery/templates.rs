//! Email templates (minijinja). The core "new message" template and one per system email (R31)
//! are installed on first start, are editable by admins and cannot be removed (R29).

use super::system_templates;
use crate::automated_emails::{kind_of, TemplateKind};
use crate::{Actor, App, AppError, AppResult};
use minijinja::Environment;
use parley_domain::system_email::SystemEmail;
use parley_domain::ValidationError;
use parley_store::Template;
use serde::Serialize;

/// The template of the unseen-message email.
pub const NEW_MESSAGE_TEMPLATE: &str = "new_message";

const SUBJECT: &str = "{% if conversation.item %}[{{ conversation.item }}] {% endif %}{{ conversation.subject }}\
{% if count > 1 %} ({{ count }} new messages){% endif %}";

/// The default subject before it named the item; an install that still has it gets the new one.
const SUBJECT_BEFORE_ITEMS: &str = "{{ conversation.subject }}{% if count > 1 %} ({{ count }} new messages){% endif %}";

const TEXT: &str = "Hello {{ recipient.name }},

{% for m in messages %}#{{ m.number }} {{ m.author }} wrote on {{ m.sent_at }}{% if m.internal %} (internal: made internal, customers never see it){% endif %}:

{{ m.body }}
{% for a in m.attachments %}
Attached: {{ a.name }} ({{ a.size }}) {{ a.url }}{% endfor %}

{% endfor %}-- 
Reply to this email to answer in the conversation, or open it: {{ conversation.url }}
{% if conversation.internal %}This is an internal conversation: customers never see it.
{% endif %}";

const HTML: &str = r#"<p>Hello {{ recipient.name }},</p>
{% for m in messages %}<div style="margin:1em 0;padding-left:.8em;border-left:3px solid {% if conversation.internal or m.internal %}#d97706{% else %}#2563eb{% endif %}">
<p style="color:#555;margin:0">#{{ m.number }} <strong>{{ m.author }}</strong> wrote on {{ m.sent_at }}:{% if m.internal %} <strong style="color:#b45309">Internal</strong> (made internal, customers never see it){% endif %}</p>
{{ m.body_html|safe }}
{% if m.attachments %}<ul style="margin:.4em 0;padding-left:1.2em">{% for a in m.attachments %}<li><a href="{{ a.url }}">{{ a.name }}</a> ({{ a.size }})</li>{% endfor %}</ul>{% endif %}
</div>
{% endfor %}<p style="color:#555">Reply to this email to answer in the conversation, or <a href="{{ conversation.url }}">open it</a>.
{% if conversation.internal %}<br>This is an internal conversation: customers never see it.{% endif %}</p>
"#;

/// The default text and HTML before they marked messages made internal: an install that still
/// has them gets today's.
const TEXT_BEFORE_INTERNAL_MARKS: &str = "Hello {{ recipient.name }},

{% for m in messages %}#{{ m.number }} {{ m.author }} wrote on {{ m.sent_at }}:

{{ m.body }}
{% for a in m.attachments %}
Attached: {{ a.name }} ({{ a.size }}) {{ a.url }}{% endfor %}

{% endfor %}-- 
Reply to this email to answer in the conversation, or open it: {{ conversation.url }}
{% if conversation.internal %}This is an internal conversation: customers never see it.
{% endif %}";

const HTML_BEFORE_INTERNAL_MARKS: &str = r#"<p>Hello {{ recipient.name }},</p>
{% for m in messages %}<div style="margin:1em 0;padding-left:.8em;border-left:3px solid {% if conversation.internal %}#d97706{% else %}#2563eb{% endif %}">
<p style="color:#555;margin:0">#{{ m.number }} <strong>{{ m.author }}</strong> wrote on {{ m.sent_at }}:</p>
{{ m.body_html|safe }}
{% if m.attachments %}<ul style="margin:.4em 0;padding-left:1.2em">{% for a in m.attachments %}<li><a href="{{ a.url }}">{{ a.name }}</a> ({{ a.size }})</li>{% endfor %}</ul>{% endif %}
</div>
{% endfor %}<p style="color:#555">Reply to this email to answer in the conversation, or <a href="{{ conversation.url }}">open it</a>.
{% if conversation.internal %}<br>This is an internal conversation: customers never see it.{% endif %}</p>
"#;

/// The default text and HTML before they listed attachments: an install that still has them
/// gets today's.
const TEXT_BEFORE_ATTACHMENTS: &str = "Hello {{ recipient.name }},

{% for m in messages %}#{{ m.number }} {{ m.author }} wrote on {{ m.sent_at }}:

{{ m.body }}

{% endfor %}-- 
Reply to this email to answer in the conversation, or open it: {{ conversation.url }}
{% if conversation.internal %}This is an internal conversation: customers never see it.
{% endif %}";

const HTML_BEFORE_ATTACHMENTS: &str = r#"<p>Hello {{ recipient.name }},</p>
{% for m in messages %}<div style="margin:1em 0;padding-left:.8em;border-left:3px solid {% if conversation.internal %}#d97706{% else %}#2563eb{% endif %}">
<p style="color:#555;margin:0">#{{ m.number }} <strong>{{ m.author }}</strong> wrote on {{ m.sent_at }}:</p>
{{ m.body_html|safe }}
</div>
{% endfor %}<p style="color:#555">Reply to this email to answer in the conversation, or <a href="{{ conversation.url }}">open it</a>.
{% if conversation.internal %}<br>This is an internal conversation: customers never see it.{% endif %}</p>
"#;

/// The values a new-message template can use.
#[derive(Debug, Clone, Serialize)]
pub struct NewMessageContext {
    pub recipient: RecipientContext,
    pub conversation: ConversationContext,
    pub messages: Vec<MessageContext>,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecipientContext {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationContext {
    pub id: i64,
    pub subject: String,
    /// Where its reader opens it: customers in the portal, users in the messenger.
    pub url: String,
    pub internal: bool,
    /// The item it is about, as people name it: `Ticket #12`.
    pub item: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    pub number: i64,
    pub author: String,
    /// UTC, `2026-11-22 09:30 UTC`.
    pub sent_at: String,
    pub body: String,
    /// Already sanitized.
    pub body_html: String,
    pub attachments: Vec<AttachmentContext>,
    /// R44: a message of a public conversation made internal by its author within the send
    /// guard. Only users' emails hold one, and they mark it so it is never answered as public.
    pub internal: bool,
}

/// A file of a message: its name, its size in words (`1.2 MB`), and a link that asks for the
/// reader's access.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentContext {
    pub name: String,
    pub size: String,
    pub url: String,
}

/// A template rendered with sample values, as its email would read.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplatePreview {
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// A rendered email: subject, text and HTML.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn default_new_message(now: i64) -> Template {
    Template {
        name: NEW_MESSAGE_TEMPLATE.into(),
        subject: SUBJECT.into(),
        body_text: TEXT.into(),
        body_html: HTML.into(),
        updated_at: now,
    }
}

/// A template compiled once, to render many emails.
pub struct Compiled<'t> {
    env: Environment<'t>,
}

/// R40: the most an email's part may come to; a template that would render more fails with why.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;
/// R40: the most template instructions one rendering runs (loops, filters): enough for any email
/// a person would write, far too few to keep a core busy.
const FUEL: u64 = 200_000;

/// A writer that takes at most `room` bytes, then refuses: a rendering stops as soon as its
/// output passes the bound, before it is built whole.
struct Bounded<'b> {
    out: &'b mut Vec<u8>,
    room: usize,
    full: bool,
}

impl std::io::Write for Bounded<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + bytes.len() > self.room {
            self.full = true;
            return Err(std::io::Error::other("the email would be too large"));
        }
        self.out.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'t> Compiled<'t> {
    pub fn new(template: &'t Template) -> Result<Compiled<'t>, String> {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.add_template("subject.txt", &template.subject).map_err(|e| said("subject", &e))?;
        env.add_template("body.txt", &template.body_text).map_err(|e| said("body_text", &e))?;
        env.add_template("body.html", &template.body_html).map_err(|e| said("body_html", &e))?;
        Ok(Compiled { env })
    }

    /// Renders it with `context`. The HTML part escapes what it prints unless told `|safe`.
    pub fn render(&self, context: &impl Serialize) -> Result<Rendered, String> {
        let get = |name: &str, part: &str| -> Result<String, String> {
            let t = self.env.get_template(name).map_err(|e| said(part, &e))?;
            let mut out = Vec::new();
            let mut bounded = Bounded { out: &mut out, room: MAX_RENDERED_BYTES, full: false };
            match t.render_captured_to(context, &mut bounded) {
                Ok(_) => Ok(String::from_utf8_lossy(&out).into_owned()),
                Err(_) if bounded.full => {
                    Err(format!("{part}: the email would be larger than {} MB", MAX_RENDERED_BYTES / (1024 * 1024)))
                }
                Err(e) => Err(said(part, &e)),
            }
        };
        let subject = get("subject.txt", "subject")?;
        // A subject is one line, whatever the template does.
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Rendered { subject, text: get("body.txt", "body_text")?, html: get("body.html", "body_html")? })
    }
}

/// A template error as an admin reads it: the part, the line, and what is wrong there
/// (`body_html, line 3: syntax error: unexpected end of input`).
fn said(part: &str, e: &minijinja::Error) -> String {
    let what = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    match e.line() {
        Some(line) => format!("{part}, line {line}: {what}"),
        None => format!("{part}: {what}"),
    }
}

/// Renders `template` with `context`, compiled for this once.
pub fn render(template: &Template, context: &impl Serialize) -> Result<Rendered, String> {
    Compiled::new(template)?.render(context)
}

/// A context with sample values, to check an edited template before it is stored.
fn sample() -> NewMessageContext {
    NewMessageContext {
        recipient: RecipientContext { name: "Ada".into() },
        conversation: ConversationContext {
            id: 1,
            subject: "Printer on fire".into(),
            url: "http://localhost/c/1".into(),
            internal: false,
            item: Some("Ticket #12".into()),
        },
        messages: vec![MessageContext {
            number: 1,
            author: "Bob".into(),
            sent_at: "2026-01-01 09:00 UTC".into(),
            body: "Hello".into(),
            body_html: "<p>Hello</p>".into(),
            attachments: vec![AttachmentContext {
                name: "photo.png".into(),
                size: "1.2 MB".into(),
                url: "http://localhost/api/v1/attachments/1/photo.png".into(),
            }],
            internal: false,
        }],
        count: 1,
    }
}

/// An admin's edit of a template.
#[derive(Debug, Clone)]
pub struct TemplateEdit {
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

const MAX_TEMPLATE_CHARS: usize = 100_000;

impl App {
    /// Installs the default templates where none is stored yet. A stored template whose subject
    /// or body is still an earlier default gets today's (`[Ticket #12] …`, files listed, messages made
    /// internal marked); an admin's
    /// own is kept.
    pub async fn install_default_templates(&self) -> AppResult<()> {
        for email in SystemEmail::ALL {
            self.store.put_template(&system_templates::default_template(*email, self.now()), true).await?;
        }
        let stored = self.store.put_template(&default_new_message(self.now()), true).await?;
        let mut upgraded = stored.clone();
        if upgraded.subject == SUBJECT_BEFORE_ITEMS {
            upgraded.subject = SUBJECT.into();
        }
        if [TEXT_BEFORE_ATTACHMENTS, TEXT_BEFORE_INTERNAL_MARKS].contains(&upgraded.body_text.as_str()) {
            upgraded.body_text = TEXT.into();
        }
        if [HTML_BEFORE_ATTACHMENTS, HTML_BEFORE_INTERNAL_MARKS].contains(&upgraded.body_html.as_str()) {
            upgraded.body_html = HTML.into();
        }
        if upgraded != stored {
            upgraded.updated_at = self.now();
            self.store.put_template(&upgraded, false).await?;
        }
        Ok(())
    }

    pub async fn template(&self, actor: Actor, name: &str) -> AppResult<Template> {
        Self::require_admin(actor)?;
        self.store.template(name).await?.ok_or(AppError::NotFound("template"))
    }

    /// R29: edits a template; it must render with sample values first.
    pub async fn update_template(&self, actor: Actor, name: &str, edit: TemplateEdit) -> AppResult<Template> {
        let (template, _) = self.checked_template(actor, name, edit).await?;
        Ok(self.store.put_template(&template, false).await?)
    }

    /// An edited template rendered with sample values ("Ada", "Printer on fire", one message
    /// with a file; a system email's or automated email's own sample), without storing it: what the email would look like, or why it would not
    /// render (422 `invalid_template`, naming the part and line).
    pub async fn preview_template(&self, actor: Actor, name: &str, edit: TemplateEdit) -> AppResult<TemplatePreview> {
        let (_, rendered) = self.checked_template(actor, name, edit).await?;
        Ok(TemplatePreview { subject: rendered.subject, body_text: rendered.text, body_html: rendered.html })
    }

    /// An edit of an existing template, its parts within bounds, rendered with sample values.
    async fn checked_template(&self, actor: Actor, name: &str, edit: TemplateEdit) -> AppResult<(Template, Rendered)> {
        Self::require_admin(actor)?;
        self.store.template(name).await?.ok_or(AppError::NotFound("template"))?;
        self.checked_template_parts(name, edit).await
    }

    /// A template's parts within bounds, rendered with the sample values of its kind: what the
    /// email would look like, or why it would not render (422 `invalid_template`).
    pub(crate) async fn checked_template_parts(
        &self,
        name: &str,
        edit: TemplateEdit,
    ) -> AppResult<(Template, Rendered)> {
        for (field, value) in
            [("subject", &edit.subject), ("body_text", &edit.body_text), ("body_html", &edit.body_html)]
        {
            if value.trim().is_empty() || value.chars().count() > MAX_TEMPLATE_CHARS {
                return Err(ValidationError::new(field, format!("must be 1 to {MAX_TEMPLATE_CHARS} characters")).into());
            }
        }
        let template = Template {
            name: name.to_string(),
            subject: edit.subject,
            body_text: edit.body_text,
            body_html: edit.body_html,
            updated_at: self.now(),
        };
        // R40: on a blocking thread, so that even a template at its bounds never holds up other
        // requests on the async runtime.
        let (template, rendered) = tokio::task::spawn_blocking(move || {
            let rendered = match (SystemEmail::of_template(&template.name), kind_of(&template.name)) {
                (Some(email), _) => render(&template, &system_templates::sample(email)),
                (None, TemplateKind::Core) => render(&template, &sample()),
                (None, _) => render(&template, &crate::automated_emails::sample()),
            };
            (template, rendered)
        })
        .await
        .map_err(|_| AppError::Internal)?;
        let rendered = rendered.map_err(|e| AppError::unprocessable("invalid_template", e))?;
        Ok((template, rendered))
    }
}
