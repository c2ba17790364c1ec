//! First start: the company and its first admin, created once.

use crate::auth::validate_password;
use crate::{App, AppResult};
use parley_domain::values::parse_name;
use parley_domain::*;
use parley_store::NewUser;
use rand::distributions::Alphanumeric;
use rand::Rng;

/// The first admin's login, shown once on first start.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub email: String,
    /// Generated unless chosen by the installer.
    pub password: String,
}

impl App {
    /// Creates the company and its first admin if this is a new installation. Returns the login
    /// to print, or `None` when the company already exists.
    pub async fn bootstrap(
        &self,
        company_name: &str,
        admin_email: Option<&str>,
        admin_password: Option<&str>,
    ) -> AppResult<Option<FirstAdmin>> {
        if self.store.company().await?.is_some() {
            return Ok(None);
        }
        let email = EmailAddress::parse("admin_email", admin_email.unwrap_or("admin@parley.localhost"))?;
        let password = match admin_password {
            Some(p) => {
                validate_password("admin_password", p)?;
                p.to_string()
            }
            None => rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect(),
        };
        let admin = NewUser {
            handle: email.handle_hint(),
            email: email.clone(),
            name: "Administrator".to_string(),
            role: Role::Admin,
            password_hash: crate::hash_password(&password).await?,
            preferences: Preferences::default(),
            created_at: self.now(),
        };
        match self.store.create_company(&parse_name("company_name", company_name)?, self.now(), admin).await {
            Ok(_) => Ok(Some(FirstAdmin { email: email.to_string(), password })),
            // Another node of the same install, started at the same moment, created it first.
            Err(parley_store::StoreError::Conflict("company")) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}
