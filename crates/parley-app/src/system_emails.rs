//! R31 system emails: their switches (admins), and sending one — the switch, the recipient's own
//! R25 settings and a deactivated account decide first, then its template renders and the email is
//! queued like every other.

use crate::account_email::AccountEmail;
use crate::delivery::system_templates::{default_template, named, SystemContext};
use crate::delivery::templates::render;
use crate::{Actor, App, AppError, AppResult};
use parley_domain::sealed::SECRET_SLOT;
use parley_domain::system_email::SystemEmail;
use parley_domain::*;
use serde::Serialize;

/// A system email as the admins' list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SystemEmailSetting {
    pub kind: SystemEmail,
    /// What it is sent on, in words.
    pub title: String,
    pub enabled: bool,
    /// `false` for the password reset (R31).
    pub may_turn_off: bool,
    /// The template it renders, edited through `/api/v1/templates/{name}`.
    pub template: String,
}

/// Whom a system email goes to.
#[derive(Debug, Clone)]
pub(crate) struct SystemRecipient {
    pub party: Party,
    pub name: String,
    pub address: String,
}

impl App {
    /// R31: every system email, whether it is on, and its template.
    pub async fn system_emails(&self, actor: Actor) -> AppResult<Vec<SystemEmailSetting>> {
        Self::require_admin(actor)?;
        let off = self.store.system_emails_off().await?;
        Ok(SystemEmail::ALL
            .iter()
            .map(|&kind| SystemEmailSetting {
                kind,
                title: kind.title().into(),
                enabled: !off.contains(&kind),
                may_turn_off: kind.may_turn_off(),
                template: kind.template_name(),
            })
            .collect())
    }

    /// R31: turns a system email on or off; the password reset cannot be turned off (409
    /// `always_sent`).
    pub async fn set_system_email(
        &self,
        actor: Actor,
        kind: SystemEmail,
        enabled: bool,
    ) -> AppResult<SystemEmailSetting> {
        Self::require_admin(actor)?;
        if !enabled && !kind.may_turn_off() {
            return Err(AppError::conflict(
                "always_sent",
                "the password reset email cannot be turned off: without it a locked-out person has no way back in",
            ));
        }
        self.store.set_system_email(kind, enabled).await?;
        let all = self.system_emails(actor).await?;
        all.into_iter().find(|s| s.kind == kind).ok_or(AppError::Internal)
    }

    /// Whether an admin left `kind` on.
    pub(crate) async fn system_email_on(&self, kind: SystemEmail) -> AppResult<bool> {
        Ok(!self.store.system_emails_off().await?.contains(&kind))
    }

    /// The user as a system email's recipient, if they are to get `kind`: active, and their R25
    /// settings let it through.
    pub(crate) async fn user_recipient(&self, user: UserId, kind: SystemEmail) -> AppResult<Option<SystemRecipient>> {
        let user = self.store.user(user).await?;
        if !user.active || !kind.wanted_by(&self.store.preferences(user.id).await?) {
            return Ok(None);
        }
        Ok(Some(SystemRecipient { party: Party::User(user.id), name: user.name, address: user.email }))
    }

    /// Sends `kind` to `to` with `context` (its recipient and company filled in here), unless an
    /// admin turned it off. Says whether it was queued.
    pub(crate) async fn send_system_email(
        &self,
        kind: SystemEmail,
        to: &SystemRecipient,
        mut context: SystemContext,
    ) -> AppResult<bool> {
        if !self.system_email_on(kind).await? {
            tracing::info!(email = kind.as_str(), "system email not sent: turned off");
            return Ok(false);
        }
        let template = self.store.template(&kind.template_name()).await?.ok_or(AppError::Internal)?;
        context.recipient = named(&to.name);
        context.company = named(self.store.company().await?.map(|c| c.name).unwrap_or_default());
        // R44: a secret link reaches the template as a slot, so no template can put the secret
        // where the log would keep it.
        let secret = context.secret_link.take();
        if secret.is_some() {
            context.link = Some(SECRET_SLOT.to_string());
        }
        let render_logged = |template: &parley_store::Template| {
            render(template, &context).map_err(|e| {
                // Templates are checked on save, so this is a template stored by other means.
                tracing::error!(email = kind.as_str(), error = %e, "system email template does not render");
                AppError::Internal
            })
        };
        let mut rendered = render_logged(&template)?;
        // A secret link is what the email is for: a template that alters or drops it in either
        // part gives way to the default.
        if secret.is_some() && !(rendered.text.contains(SECRET_SLOT) && rendered.html.contains(SECRET_SLOT)) {
            tracing::warn!(email = kind.as_str(), "template does not show the link as given; using the default");
            rendered = render_logged(&default_template(kind, self.now()))?;
        }
        let email = AccountEmail {
            kind: kind.as_str(),
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            secret,
        };
        self.queue_account_email(to.party, &to.name, &to.address, email).await?;
        Ok(true)
    }

    /// A page of the web app, for links in emails.
    pub(crate) fn app_url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }
}
