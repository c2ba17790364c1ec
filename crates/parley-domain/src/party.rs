//! The people a message can be addressed to ([`Party`]) and the ones who can write it ([`Author`]).

use crate::ids::{CustomerId, UserId};
use serde::{Deserialize, Serialize};

/// A person who can follow, take part in, or receive a conversation: a user or a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Party {
    User(UserId),
    Customer(CustomerId),
}

impl Party {
    pub fn is_customer(self) -> bool {
        matches!(self, Party::Customer(_))
    }

    pub fn user(self) -> Option<UserId> {
        match self {
            Party::User(id) => Some(id),
            Party::Customer(_) => None,
        }
    }

    pub fn customer(self) -> Option<CustomerId> {
        match self {
            Party::Customer(id) => Some(id),
            Party::User(_) => None,
        }
    }

    /// The storage form: (`"user"` | `"customer"`, id).
    pub fn kind_str(self) -> &'static str {
        match self {
            Party::User(_) => "user",
            Party::Customer(_) => "customer",
        }
    }

    pub fn raw_id(self) -> i64 {
        match self {
            Party::User(id) => id.0,
            Party::Customer(id) => id.0,
        }
    }

    pub fn from_parts(kind: &str, id: i64) -> Option<Party> {
        match kind {
            "user" => Some(Party::User(UserId(id))),
            "customer" => Some(Party::Customer(CustomerId(id))),
            _ => None,
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Author {
    User(UserId),
    Customer(CustomerId),
    /// Automated messages.
    Bot,
}

impl Author {
    pub fn party(self) -> Option<Party> {
        match self {
            Author::User(id) => Some(Party::User(id)),
            Author::Customer(id) => Some(Party::Customer(id)),
            Author::Bot => None,
        }
    }

    pub fn kind(self) -> AuthorKind {
        match self {
            Author::User(_) => AuthorKind::User,
            Author::Customer(_) => AuthorKind::Customer,
            Author::Bot => AuthorKind::Bot,
        }
    }

    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<Author> {
        match (kind, id) {
            ("user", Some(id)) => Some(Author::User(UserId(id))),
            ("customer", Some(id)) => Some(Author::Customer(CustomerId(id))),
            ("bot", _) => Some(Author::Bot),
            _ => None,
        }
    }

    pub fn raw_id(self) -> Option<i64> {
        self.party().map(Party::raw_id)
    }
}

impl From<Party> for Author {
    fn from(p: Party) -> Self {
        match p {
            Party::User(id) => Author::User(id),
            Party::Customer(id) => Author::Customer(id),
        }
    }
}

/// The kind of an author, without the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    User,
    Customer,
    Bot,
}

impl AuthorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorKind::User => "user",
            AuthorKind::Customer => "customer",
            AuthorKind::Bot => "bot",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(AuthorKind::User),
            "customer" => Some(AuthorKind::Customer),
            "bot" => Some(AuthorKind::Bot),
            _ => None,
        }
    }
}
