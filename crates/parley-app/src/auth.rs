//! Logging in and recognizing who is asking. Passwords are hashed with argon2id; session and API
//! tokens are random and stored only as SHA-256 hashes, so a copy of the database opens nothing.

use crate::{Actor, App, AppError, AppResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use parley_domain::values::check_password;
use parley_domain::*;
use parley_store::{ApiToken, SessionRecord, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};

const SESSION_PREFIX: &str = "ps_";
const API_TOKEN_PREFIX: &str = "pt_";

/// A new session.
#[derive(Debug, Clone)]
pub struct LoginResult {
    pub token: String,
    pub actor: Actor,
    pub expires_at: i64,
}

/// Password hashes computed at once. Each argon2id run takes 19 MiB for its duration, so a burst
/// of logins must queue rather than allocate without bound.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        tokio::sync::Semaphore::new(cores.clamp(1, 8))
    })
}

/// Hashes a password with argon2id (on a blocking thread: it is deliberately slow).
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    let _permit = hashing_permits().acquire().await.map_err(|_| AppError::Internal)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|_| AppError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    })
}

async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    let Ok(_permit) = hashing_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

pub(crate) fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What identifies a credential in announcements that end it (R38): its hash, never the token.
pub fn credential_of(token: &str) -> String {
    token_hash(token)
}

/// Who a token speaks for, and until when (`None`: an API token, valid until revoked).
#[derive(Debug, Clone, Copy)]
pub struct Authenticated {
    pub actor: Actor,
    pub expires_at: Option<i64>,
}

/// Spends as long as a password check, so an unknown account answers no faster than a known one.
async fn as_slow_as_a_check(password: &str) {
    let _ = hash_password(password).await;
}

impl App {
    pub async fn login_user(&self, email: &str, password: &str) -> AppResult<LoginResult> {
        let email = EmailAddress::parse("email", email).map_err(|_| AppError::BadCredentials)?;
        let found = self.store.user_credentials(&email).await;
        let (user, hash) = match found {
            Ok(found) => found,
            Err(StoreError::NotFound) => {
                as_slow_as_a_check(password).await;
                return Err(AppError::BadCredentials);
            }
            Err(e) => return Err(e.into()),
        };
        // A deactivated user is told the same as a wrong password: nothing about the account.
        if !verify_password(password, &hash).await || !user.active {
            return Err(AppError::BadCredentials);
        }
        self.start_session(Actor::User { id: user.id, role: user.role, via_api_token: false }).await
    }

    pub async fn login_customer(&self, email: &str, password: &str) -> AppResult<LoginResult> {
        let email = EmailAddress::parse("email", email).map_err(|_| AppError::BadCredentials)?;
        let (customer, hash) = match self.store.customer_credentials(&email).await {
            Ok((c, Some(hash))) => (c, hash),
            Ok((_, None)) | Err(StoreError::NotFound) => {
                as_slow_as_a_check(password).await;
                return Err(AppError::BadCredentials);
            }
            Err(e) => return Err(e.into()),
        };
        if !verify_password(password, &hash).await {
            return Err(AppError::BadCredentials);
        }
        self.start_session(Actor::Customer { id: customer.id }).await
    }

    pub(crate) async fn start_session(&self, actor: Actor) -> AppResult<LoginResult> {
        let token = new_token(SESSION_PREFIX);
        let expires_at = self.now() + self.config.session_ttl.as_millis() as i64;
        let record = SessionRecord { party: actor.party(), expires_at };
        self.store.insert_session(&token_hash(&token), record).await?;
        Ok(LoginResult { token, actor, expires_at })
    }

    /// Ends the session of `token`, and every realtime connection opened with it (R38).
    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let hash = token_hash(token);
        let party = match self.store.session(&hash).await {
            Ok(session) => Some(session.party),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        self.store.delete_session(&hash).await?;
        if let Some(party) = party {
            self.end_session(party, &hash);
        }
        Ok(())
    }

    /// Who a session or API token speaks for.
    pub async fn authenticate(&self, token: &str) -> AppResult<Actor> {
        Ok(self.authenticate_until(token).await?.actor)
    }

    /// Who a session or API token speaks for, and until when.
    pub async fn authenticate_until(&self, token: &str) -> AppResult<Authenticated> {
        let unauthenticated = |e: StoreError| match e {
            StoreError::NotFound => AppError::Unauthenticated,
            e => e.into(),
        };
        if token.starts_with(API_TOKEN_PREFIX) {
            let id = self.store.use_api_token(&token_hash(token), self.now()).await.map_err(unauthenticated)?;
            let user = self.store.user(id).await.map_err(unauthenticated)?;
            let actor = Actor::User { id, role: user.role, via_api_token: true };
            return Ok(Authenticated { actor, expires_at: None });
        }
        if !token.starts_with(SESSION_PREFIX) {
            return Err(AppError::Unauthenticated);
        }
        let session = self.store.session(&token_hash(token)).await.map_err(unauthenticated)?;
        if session.expires_at <= self.now() {
            return Err(AppError::Unauthenticated);
        }
        let actor = match session.party {
            Party::User(id) => {
                let user = self.store.user(id).await.map_err(unauthenticated)?;
                Actor::User { id, role: user.role, via_api_token: false }
            }
            Party::Customer(id) => Actor::Customer { id },
        };
        Ok(Authenticated { actor, expires_at: Some(session.expires_at) })
    }

    /// R38: changes the asker's password after checking the current one. Every other session of
    /// theirs ends, with its realtime connections; the one asking (`token`) stays.
    pub async fn change_password(&self, actor: Actor, token: &str, current: &str, new: &str) -> AppResult<()> {
        validate_password("new_password", new)?;
        let hash = match actor {
            Actor::User { id, via_api_token: false, .. } => {
                let user = self.store.user(id).await?;
                let email = EmailAddress::parse("email", &user.email).map_err(|_| AppError::Internal)?;
                self.store.user_credentials(&email).await?.1
            }
            Actor::User { .. } => {
                return Err(AppError::Forbidden("log in with your password to change it, not with an API token"))
            }
            Actor::Customer { id } => {
                let customer = self.store.customer(id).await?;
                let email = customer.email.as_deref().ok_or(AppError::Forbidden("no password to change"))?;
                let email = EmailAddress::parse("email", email).map_err(|_| AppError::Internal)?;
                self.store.customer_credentials(&email).await?.1.ok_or(AppError::Forbidden("no password to change"))?
            }
        };
        if !verify_password(current, &hash).await {
            return Err(AppError::BadCredentials);
        }
        let new_hash = hash_password(new).await?;
        let keep = token_hash(token);
        self.store.set_password(actor.party(), &new_hash, Some(&keep)).await?;
        self.end_sessions_of(actor.party(), Some(&keep));
        Ok(())
    }

    /// Creates a personal API token; the token itself is returned only now.
    pub async fn create_api_token(&self, actor: Actor, name: &str) -> AppResult<(ApiToken, String)> {
        let user = actor.user_id().ok_or(AppError::Forbidden("only users have API tokens"))?;
        let name = values::parse_name("name", name)?;
        let token = new_token(API_TOKEN_PREFIX);
        let record = self.store.insert_api_token(user, &name, &token_hash(&token), self.now()).await?;
        Ok((record, token))
    }

    pub async fn api_tokens(&self, actor: Actor) -> AppResult<Vec<ApiToken>> {
        let user = actor.user_id().ok_or(AppError::Forbidden("only users have API tokens"))?;
        Ok(self.store.api_tokens(user).await?)
    }

    /// Revokes an API token; realtime connections opened with it close at once (R38).
    pub async fn delete_api_token(&self, actor: Actor, id: ApiTokenId) -> AppResult<()> {
        let user = actor.user_id().ok_or(AppError::Forbidden("only users have API tokens"))?;
        let hash = self.store.delete_api_token(user, id).await.map_err(AppError::from_store("API token"))?;
        self.end_session(Party::User(user), &hash);
        Ok(())
    }
}

/// Checks a new password's length.
pub(crate) fn validate_password(field: &'static str, password: &str) -> AppResult<()> {
    Ok(check_password(field, password)?)
}
