//! The live-chat widget's visitors: anonymous customers, who may later give an address so that
//! replies they miss reach them by email (R14, R15).

use crate::{Actor, App, AppError, AppResult, LoginResult};
use parley_domain::values::parse_name;
use parley_domain::*;
use parley_store::{NewCustomer, StoreError};

impl App {
    /// A new anonymous visitor, logged in.
    pub async fn start_visitor(&self, name: Option<&str>) -> AppResult<LoginResult> {
        let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => parse_name("name", n)?,
            None => "Visitor".to_string(),
        };
        let visitor =
            NewCustomer { email: None, name, organization_id: None, password_hash: None, created_at: self.now() };
        let customer = self.store.insert_customer(visitor).await?;
        self.start_session(Actor::Customer { id: customer.id }).await
    }

    /// A visitor gives their address (and name). Only once, and only an address no other
    /// customer has: taking over someone else's history is not possible this way.
    pub async fn set_visitor_contact(&self, actor: Actor, email: &str, name: Option<&str>) -> AppResult<Customer> {
        let Actor::Customer { id } = actor else {
            return Err(AppError::Forbidden("only a live-chat visitor gives a contact address"));
        };
        let email = EmailAddress::parse("email", email)?;
        let name = name.map(|n| parse_name("name", n)).transpose()?;
        let organization_id = self.store.organization_by_domain(email.domain()).await?.map(|o| o.id);
        self.store.set_customer_contact(id, &email, name.as_deref(), organization_id).await.map_err(|e| match e {
            StoreError::Conflict("email") => AppError::conflict(
                "email_taken",
                "this address belongs to a customer already: log in to the portal to continue there",
            ),
            StoreError::Conflict(_) => {
                AppError::conflict("contact_already_given", "this visitor has given an address already")
            }
            e => AppError::from_store("customer")(e),
        })
    }
}
