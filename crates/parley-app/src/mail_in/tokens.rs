//! Relay tokens: what a mail relay or provider posts incoming mail with
//! (`POST /api/v1/inbound/email`). They speak for no person and open no other route.

use crate::auth::{new_token, token_hash};
use crate::{Actor, App, AppError, AppResult};
use parley_domain::*;
use parley_store::{InboundToken, StoreError};

/// The prefix that tells a relay token from a session or API token.
pub const RELAY_TOKEN_PREFIX: &str = "pr_";

impl App {
    /// Creates a relay token (admins); the token itself is returned only now.
    pub async fn create_inbound_token(&self, actor: Actor, name: &str) -> AppResult<(InboundToken, String)> {
        let admin = Self::require_admin(actor)?;
        let name = values::parse_name("name", name)?;
        let token = new_token(RELAY_TOKEN_PREFIX);
        let record = self.store.insert_inbound_token(&name, &token_hash(&token), admin, self.now()).await?;
        Ok((record, token))
    }

    pub async fn inbound_tokens(&self, actor: Actor) -> AppResult<Vec<InboundToken>> {
        Self::require_admin(actor)?;
        Ok(self.store.inbound_tokens().await?)
    }

    pub async fn delete_inbound_token(&self, actor: Actor, id: InboundTokenId) -> AppResult<()> {
        Self::require_admin(actor)?;
        self.store.delete_inbound_token(id).await.map_err(AppError::from_store("inbound token"))
    }

    /// The relay token `token` names; `Unauthenticated` for anything else.
    pub async fn authenticate_relay(&self, token: &str) -> AppResult<InboundTokenId> {
        if !token.starts_with(RELAY_TOKEN_PREFIX) {
            return Err(AppError::Unauthenticated);
        }
        self.store.use_inbound_token(&token_hash(token), self.now()).await.map_err(|e| match e {
            StoreError::NotFound => AppError::Unauthenticated,
            e => e.into(),
        })
    }
}
