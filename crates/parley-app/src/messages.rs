//! The one path every message takes, whatever channel it comes from: access, validation, the
//! locked check, the audience (R7–R10, computed by `parley_domain::audience`), and one atomic write.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::audience::{self, Audience, AudienceInput, Recipient};
use parley_domain::delivery;
use parley_domain::*;
use parley_store::{NewMessage, PostContext, Retraction, StoreError};
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct PostRequest {
    pub body: String,
    /// Defaults to the asker's usual channel.
    pub channel: Option<Channel>,
    /// Files the asker uploaded into the conversation for this message; with one, the body may
    /// be empty.
    pub attachments: Vec<AttachmentId>,
}

/// Who a message reaches, as the post path needs it.
pub(crate) struct Addressed {
    pub audience: Audience,
    /// Users the body mentions (R8).
    pub mentioned: Vec<UserId>,
    /// Users whose preferences turn the notification sound off (R12).
    pub silent: BTreeSet<UserId>,
}

impl App {
    /// Posts a message and returns it with its audience.
    pub async fn post_message(
        &self,
        actor: Actor,
        id: ConversationId,
        req: PostRequest,
    ) -> AppResult<(Message, Audience)> {
        let channel = channel_for(actor, req.channel)?;
        self.post_on(actor, id, &req.body, &req.attachments, channel).await
    }

    /// Posts on a channel the caller has decided: the asker's own clients through
    /// [`App::post_message`], email replies and new requests on `email`.
    #[tracing::instrument(name = "post", skip_all, fields(conversation = id.0, by = ?actor.party(), channel = channel.as_str()))]
    pub(crate) async fn post_on(
        &self,
        actor: Actor,
        id: ConversationId,
        body: &str,
        attachments: &[AttachmentId],
        channel: Channel,
    ) -> AppResult<(Message, Audience)> {
        let started = std::time::Instant::now();
        // The body is checked after access, so that a conversation out of reach is "not found"
        // whatever was sent; its mentions are looked up with everything else the post reads.
        let parsed = match body.trim().is_empty() && !attachments.is_empty() {
            true => Ok(String::new()),
            false => values::parse_body(body),
        };
        let handles = parsed.as_deref().map(|b| handles_in(actor.author(), b)).unwrap_or_default();
        let context = self.postable(actor, id, &handles).await?;
        let body = parsed?;
        let (message, audience) = self.post_in(context, actor.author(), body, attachments, channel, started).await?;
        Ok((self.as_numbered_for(actor, message).await?, audience))
    }

    /// R29: the bot posts through the same path as everyone — the locked refusal, the audience
    /// (R7: an internal message never reaches a customer), realtime, the email fallback. There is
    /// no access to check: what the bot says was set by an admin.
    #[tracing::instrument(name = "post", skip_all, fields(conversation = id.0, by = "bot"))]
    pub(crate) async fn post_as_bot(&self, id: ConversationId, body: &str) -> AppResult<(Message, Audience)> {
        let started = std::time::Instant::now();
        let body = values::parse_body(body)?;
        let handles = handles_in(Author::Bot, &body);
        let context =
            self.store.post_context(id, None, &handles).await.map_err(AppError::from_store("conversation"))?;
        self.post_in(context, Author::Bot, body, &[], Channel::Automation, started).await
    }

    /// The post after access: the locked check, the audience, one atomic write, the pushes.
    async fn post_in(
        &self,
        mut context: PostContext,
        author: Author,
        body: String,
        attachments: &[AttachmentId],
        channel: Channel,
        started: std::time::Instant,
    ) -> AppResult<(Message, Audience)> {
        let id = context.people.conversation.header.id;
        if attachments.len() > attachment::MAX_PER_MESSAGE {
            let most = attachment::MAX_PER_MESSAGE;
            return Err(ValidationError::new("attachments", format!("at most {most} files a message")).into());
        }
        if context.people.conversation.header.state == ConversationState::Locked {
            return Err(crate::error::locked());
        }
        // R42: a customer's conversation no one has yet is routed before it is addressed.
        let routed = self.route(&mut context, author).await;
        let conversation = &context.people.conversation;
        let Addressed { audience, mentioned, silent } = address(&context, author, &routed);
        let people = &context.people;
        let new_followers = mentioned
            .into_iter()
            .map(Party::User)
            .filter(|p| !people.conversation.followers.contains(p) && !people.conversation.participants.contains(p))
            .collect();
        // R40: rendering is bounded, and it runs on a blocking thread so that even a slow body
        // never holds up other requests on the async runtime.
        let body_html = {
            let body = body.clone();
            tokio::task::spawn_blocking(move || markdown::render(&body)).await.map_err(|_| AppError::Internal)?
        };
        let now = self.now();
        // R33: the guard of where the conversation began (this message, if it is the first).
        let origin = conversation.header.origin.unwrap_or(channel);
        let deployment = self.config.send_guard.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let guard_ms = delivery::send_guard_ms(origin, context.send_guards, deployment);
        let message = NewMessage {
            held_until: delivery::held_until(author, conversation.header.visibility, now, guard_ms),
            conversation_id: id,
            author,
            body_html,
            body,
            channel,
            created_at: now,
            audience,
            email_plans: Vec::new(),
            new_followers,
            attachments: attachments.to_vec(),
        };
        // R14: the email plans are decided here, once: the store writes them, the metrics count them.
        let delay_ms = i64::try_from(self.config.email_delay.as_millis()).unwrap_or(i64::MAX);
        let message = message.planned(conversation.header.visibility, delay_ms);
        let suppressed: Vec<_> = message
            .email_plans
            .iter()
            .filter_map(|plan| match plan {
                delivery::EmailPlan::Suppressed(reason) => Some(*reason),
                delivery::EmailPlan::DueAt(_) => None,
            })
            .collect();
        let audience = message.audience.clone();
        let message = self.store.insert_message(message).await.map_err(|e| match e {
            StoreError::Locked => crate::error::locked(),
            StoreError::Conflict("attachment") => AppError::unprocessable(
                "attachment_unavailable",
                "an attachment is not one of your uploads to this conversation, or was sent already",
            ),
            e => AppError::from_store("conversation")(e),
        })?;
        for reason in suppressed {
            self.metrics.emails("suppressed", reason.as_str(), 1);
        }
        self.publish_message(message.clone(), audience.clone(), conversation.header.subject.clone(), silent);
        self.announce(crate::webhooks::Announcement::message_created(&message, &conversation.header)).await;
        self.metrics.posted(started.elapsed());
        Ok((message, audience))
    }

    /// The message as `actor` is shown it: customers see their own numbers (their position among
    /// the messages they may read), never the conversation's count of everything written.
    pub(crate) async fn as_numbered_for(&self, actor: Actor, mut message: Message) -> AppResult<Message> {
        if let Actor::Customer { .. } = actor {
            message.number = self.store.customer_number(message.id, self.now()).await?.unwrap_or(message.number);
        }
        Ok(message)
    }

    /// R11: who would receive `body` if the asker posted it now, and why.
    pub async fn preview_recipients(&self, actor: Actor, id: ConversationId, body: &str) -> AppResult<Audience> {
        let context = self.postable(actor, id, &handles_in(actor.author(), body)).await?;
        Self::require_user(actor, "conversation")?;
        Ok(address(&context, actor.author(), &crate::routing::Routed::default()).audience)
    }

    /// Messages after `after_number`, oldest first.
    pub async fn messages(
        &self,
        actor: Actor,
        id: ConversationId,
        after_number: i64,
        limit: i64,
    ) -> AppResult<Vec<Message>> {
        self.visible_conversation(actor, id).await?;
        if !(1..=200).contains(&limit) {
            return Err(ValidationError::new("limit", "must be between 1 and 200").into());
        }
        Ok(self.store.messages(id, after_number.max(0), limit, self.reader_for(actor)).await?)
    }

    /// R33: the author takes back a message still within the send guard: `Undo` makes it
    /// disappear for everyone, `MakeInternal` keeps it for users only.
    pub async fn retract_message(&self, actor: Actor, id: MessageId, how: Retraction) -> AppResult<Message> {
        Self::require_user(actor, "message")?;
        let message = self.store.message(id).await.map_err(AppError::from_store("message"))?;
        self.visible_conversation(actor, message.conversation_id).await.map_err(|_| AppError::NotFound("message"))?;
        if message.author != actor.author() {
            return Err(AppError::Forbidden("only its author can take a message back"));
        }
        let message = self.store.retract_message(id, how, self.now()).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict(
                "send_guard_passed",
                "the message already reached customers (or was taken back): it can no longer be changed",
            ),
            e => AppError::from_store("message")(e),
        })?;
        self.publish_retraction(message.clone(), how);
        self.announce_retraction(&message, how).await;
        Ok(message)
    }

    /// A message for a user who may see its conversation, unless it was taken back (R44: gone
    /// for everyone, with its audience and deliveries); "not found" otherwise.
    pub(crate) async fn message_for_staff(&self, actor: Actor, id: MessageId) -> AppResult<Message> {
        Self::require_user(actor, "message")?;
        let message = self.store.message(id).await.map_err(AppError::from_store("message"))?;
        self.visible_conversation(actor, message.conversation_id).await.map_err(|_| AppError::NotFound("message"))?;
        let (_, _, facts) = self.store.message_facts(id).await.map_err(AppError::from_store("message"))?;
        if facts.withdrawn {
            return Err(AppError::NotFound("message"));
        }
        Ok(message)
    }

    /// R44: webhooks hear nothing more of a reply taken back; one made internal is announced
    /// again, as internal, to the webhooks that hear internal events. (Should this fail, the
    /// sender's own check before each try still never sends the public announcement.)
    async fn announce_retraction(&self, message: &Message, how: Retraction) {
        let reason = match how {
            Retraction::Undo => "the message was taken back",
            Retraction::MakeInternal => "the message was made internal",
        };
        if let Err(error) = self.store.cancel_message_webhook_deliveries(message.id, reason, self.now()).await {
            tracing::warn!(message = message.id.0, %error, "webhook deliveries of a retracted message not cancelled");
        }
        if how == Retraction::MakeInternal {
            match self.store.conversation(message.conversation_id).await {
                Ok(c) => self.announce(crate::webhooks::Announcement::message_created(message, &c.header)).await,
                Err(error) => tracing::warn!(message = message.id.0, %error, "made internal, not announced"),
            }
        }
    }

    /// The stored audience of a message, for users who may see its conversation, unless it was
    /// taken back.
    pub async fn message_audience(&self, actor: Actor, id: MessageId) -> AppResult<(Message, Vec<Recipient>)> {
        let message = self.message_for_staff(actor, id).await?;
        let recipients = self.store.message_audience(id).await?;
        Ok((message, recipients))
    }
}

/// The channel a message is recorded under: users write in the app or through the API, customers
/// in the widget or the portal. Email and automations have their own entry points.
fn channel_for(actor: Actor, asked: Option<Channel>) -> AppResult<Channel> {
    let (default, allowed): (Channel, &[Channel]) = match actor {
        Actor::User { via_api_token: true, .. } => (Channel::Api, &[Channel::Api]),
        Actor::User { .. } => (Channel::App, &[Channel::App, Channel::Api]),
        Actor::Customer { .. } => (Channel::Portal, &[Channel::Portal, Channel::Widget]),
    };
    match asked {
        None => Ok(default),
        Some(c) if allowed.contains(&c) => Ok(c),
        Some(c) => {
            Err(AppError::unprocessable("channel_not_allowed", format!("this client cannot post on channel '{c}'")))
        }
    }
}

/// The `@handles` a body by `author` mentions: only staff mention, a customer cannot pull users
/// into a conversation (R8).
fn handles_in(author: Author, body: &str) -> Vec<String> {
    match author {
        Author::User(_) | Author::Bot => mentions::extract(body),
        Author::Customer(_) => vec![],
    }
}

/// The audience of a message by `author` (R7–R10, computed by `parley_domain::audience`), the
/// users it mentions, and whose pushes are silent.
pub(crate) fn address(context: &PostContext, author: Author, routed: &crate::routing::Routed) -> Addressed {
    let people = &context.people;
    let c = &people.conversation;
    let input = AudienceInput {
        visibility: c.header.visibility,
        project_id: c.header.project_id,
        author,
        item_followers: people.item_followers.clone(),
        requesters: people.requesters.clone(),
        conversation_followers: c.followers.clone(),
        participants: c.participants.clone(),
        taking_part: c.taking_part.clone(),
        mentioned: context.mentioned.clone(),
        routed: routed.everyone.clone(),
        fallback: routed.fallback.clone(),
        profiles: context.profiles.clone(),
    };
    let silent = input.profiles.iter().filter(|p| !p.preferences.sound).map(|p| p.id).collect();
    Addressed { audience: audience::compute(&input), mentioned: context.mentioned.clone(), silent }
}
