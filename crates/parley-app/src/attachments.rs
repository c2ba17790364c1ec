//! Attachments: uploading a file into a conversation for a message to come, and fetching one. A
//! file is fetched by whoever may read its message — the one access rule, asked on every fetch,
//! whatever URL it came through (R7, R33) — and, until it is sent, by its uploader alone.

use crate::file_store::ReceiveError;
use crate::{Actor, App, AppError, AppResult};
use futures_util::Stream;
use parley_domain::access::may_fetch_attachment;
use parley_domain::attachment::{self, Attachment, Refusal};
use parley_domain::*;
use parley_store::NewAttachment;
use std::time::{Duration, SystemTime};

/// How long an upload no message took is kept.
pub const UNSENT_KEEP: Duration = Duration::from_secs(24 * 3600);

impl App {
    /// Stores a file someone who may write in `conversation` uploads for their next message there.
    pub async fn upload_attachment<B, E>(
        &self,
        actor: Actor,
        conversation: ConversationId,
        name: &str,
        content_type: &str,
        body: impl Stream<Item = Result<B, E>>,
    ) -> AppResult<Attachment>
    where
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        let c = self.visible_conversation(actor, conversation).await?;
        if c.header.state == ConversationState::Locked {
            return Err(crate::error::locked());
        }
        self.store_file(actor, conversation, name, content_type, body).await
    }

    /// Stores a file for `actor` in `conversation`, whose access the caller has checked.
    pub(crate) async fn store_file<B, E>(
        &self,
        actor: Actor,
        conversation: ConversationId,
        name: &str,
        content_type: &str,
        body: impl Stream<Item = Result<B, E>>,
    ) -> AppResult<Attachment>
    where
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        attachment::clean_name(name)?;
        let max = self.config.attachment_max_bytes;
        let received = self.files.receive(body, max).await.map_err(|e| match e {
            ReceiveError::TooLarge => AppError::TooLarge { limit_bytes: max },
            ReceiveError::Body(cause) => ValidationError::new("body", format!("the upload broke off: {cause}")).into(),
            ReceiveError::Disk(cause) => {
                tracing::error!(%cause, "writing an upload failed");
                AppError::Internal
            }
        })?;
        if received.size == 0 {
            self.files.discard(received).await;
            return Err(ValidationError::new("body", "the file is empty").into());
        }
        let accepted = match attachment::accept(name, content_type, &received.head) {
            Ok(accepted) => accepted,
            Err(refusal) => {
                self.files.discard(received).await;
                return Err(match refusal {
                    Refusal::Name(invalid) => invalid.into(),
                    Refusal::Type(message) | Refusal::NotWhatItSays(message) => AppError::UnsupportedType(message),
                });
            }
        };
        if let Err(cause) = self.files.keep(&received).await {
            tracing::error!(%cause, "keeping an upload failed");
            self.files.discard(received).await;
            return Err(AppError::Internal);
        }
        let stored = self
            .store
            .insert_attachment(NewAttachment {
                conversation_id: conversation,
                uploader: actor.party(),
                name: accepted.name,
                content_type: accepted.content_type,
                size: i64::try_from(received.size).unwrap_or(i64::MAX),
                sha256: received.sha256,
                created_at: self.now(),
            })
            .await?;
        Ok(stored)
    }

    /// Keeps the files of a mail `actor` sent into `conversation` (access checked by the caller),
    /// up to the most a message carries: answers the kept ones' ids and a line for each dropped
    /// one, saying why.
    pub(crate) async fn keep_mail_files(
        &self,
        actor: Actor,
        conversation: ConversationId,
        files: &[crate::mail_in::MailAttachment],
    ) -> AppResult<(Vec<AttachmentId>, Vec<String>)> {
        let (mut kept, mut dropped) = (Vec::new(), Vec::new());
        for file in files {
            if kept.len() == attachment::MAX_PER_MESSAGE {
                dropped.push(format!("{} (more than {} files)", file.name, attachment::MAX_PER_MESSAGE));
                continue;
            }
            let bytes = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(file.bytes.as_slice())]);
            match self.store_file(actor, conversation, &file.name, &file.content_type, bytes).await {
                Ok(stored) => kept.push(stored.id),
                Err(AppError::Internal) => return Err(AppError::Internal),
                Err(refused) => dropped.push(format!("{} ({refused})", file.name)),
            }
        }
        Ok((kept, dropped))
    }

    /// A file and its bytes, for someone who may read its message; "not found" to everyone else,
    /// whether the file exists or not.
    pub async fn attachment_file(&self, actor: Actor, id: AttachmentId) -> AppResult<(Attachment, tokio::fs::File)> {
        let stored = self.store.attachment(id).await.map_err(AppError::from_store("attachment"))?;
        self.visible_conversation(actor, stored.conversation_id).await.map_err(|_| AppError::NotFound("attachment"))?;
        if !may_fetch_attachment(actor.party(), stored.uploader, stored.message, self.now()) {
            return Err(AppError::NotFound("attachment"));
        }
        let file = self.files.open(&stored.sha256).await.map_err(|cause| {
            tracing::error!(%cause, attachment = id.0, "an attachment's bytes are missing");
            AppError::NotFound("attachment")
        })?;
        Ok((stored.attachment, file))
    }

    /// Removes uploads no message took within a day, and the bytes nothing names any more.
    pub async fn prune_unsent_attachments(&self) -> AppResult<usize> {
        let keep_ms = i64::try_from(UNSENT_KEEP.as_millis()).unwrap_or(i64::MAX);
        let cutoff = self.now() - keep_ms;
        let unused = self.store.prune_unattached(cutoff).await?;
        let before = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(cutoff).unwrap_or(0));
        for sha in &unused {
            // Bytes written again since (an upload of the same file under way) are kept.
            if let Err(cause) = self.files.remove_if_older(sha, before).await {
                tracing::warn!(%cause, "removing an unsent upload's bytes failed");
            }
        }
        Ok(unused.len())
    }
}
