//! Who is asking: a user (with their role) or a customer, and how they authenticated.

use parley_domain::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User { id: UserId, role: Role, via_api_token: bool },
    Customer { id: CustomerId },
}

impl Actor {
    pub fn party(self) -> Party {
        match self {
            Actor::User { id, .. } => Party::User(id),
            Actor::Customer { id } => Party::Customer(id),
        }
    }

    pub fn author(self) -> Author {
        self.party().into()
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Actor::User { role: Role::Admin, .. })
    }

    pub fn user_id(self) -> Option<UserId> {
        match self {
            Actor::User { id, .. } => Some(id),
            Actor::Customer { .. } => None,
        }
    }
}
