//! The one application error type. Each variant has a stable `code` for clients; internal causes
//! are logged where they happen and never shown to the client.

use parley_domain::ValidationError;
use parley_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// The thing does not exist, or the asker may not know it exists.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("authentication required")]
    Unauthenticated,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Well-formed, but against a rule (for example a customer added to a conversation with users).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// R39: too many attempts from this client or for this address; try again after a while.
    #[error("too many attempts: try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// A file larger than the server takes.
    #[error("the file is larger than {limit_bytes} bytes")]
    TooLarge { limit_bytes: u64 },
    /// A file of a type the server does not take, or not the type it says it is.
    #[error("{0}")]
    UnsupportedType(String),
    #[error("internal error")]
    Internal,
}

impl AppError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict { code, message: message.into() }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Unprocessable { code, message: message.into() }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid_input",
            AppError::NotFound(_) => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad_credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict { code, .. } | AppError::Unprocessable { code, .. } => code,
            AppError::TooManyRequests { .. } => "rate_limited",
            AppError::TooLarge { .. } => "too_large",
            AppError::UnsupportedType(_) => "unsupported_type",
            AppError::Internal => "internal",
        }
    }

    /// Maps a store error, naming what was looked for.
    pub fn from_store(what: &'static str) -> impl Fn(StoreError) -> AppError {
        move |e| match e {
            StoreError::NotFound => AppError::NotFound(what),
            StoreError::Conflict(field) => {
                AppError::conflict("already_exists", format!("{what} with this {field} already exists"))
            }
            StoreError::Locked => locked(),
            StoreError::Contended => AppError::conflict(
                "busy",
                "other changes to the same conversations got in the way; nothing was written: try again",
            ),
            StoreError::Other(cause) => {
                // The whole chain: what failed, and what it failed on.
                let chain: Vec<String> = std::iter::successors(Some(&cause as &dyn std::error::Error), |e| e.source())
                    .map(ToString::to_string)
                    .collect();
                tracing::error!(cause = %chain.join(": "), what, "storage failure");
                AppError::Internal
            }
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::from_store("record")(e)
    }
}

/// R6: the error for any new message on a locked conversation.
pub fn locked() -> AppError {
    AppError::conflict("conversation_locked", "the conversation is locked: unlock it before sending")
}

pub type AppResult<T> = Result<T, AppError>;
