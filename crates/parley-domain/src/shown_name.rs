//! How the author of a message is named to whoever reads it. Customers see the team under the
//! company's display name when one is set ("ACME Support"), or each user by their own name;
//! automated messages come from the company. Users always see who wrote.

use crate::entities::CompanySettings;
use crate::party::{Author, Party};

/// The name `reader` sees for `author`; `real_name` is the author's own name (`None` for the bot
/// or someone no longer known).
pub fn shown_name(
    author: Author,
    reader: Party,
    real_name: Option<&str>,
    settings: &CompanySettings,
    company_name: &str,
) -> String {
    match (author, reader) {
        (Author::Bot, _) => company_name.to_string(),
        (Author::User(_), Party::Customer(_)) => match (&settings.staff_display_name, real_name) {
            (Some(display), _) => display.clone(),
            (None, Some(name)) => name.to_string(),
            (None, None) => format!("{company_name} support"),
        },
        (Author::User(id), Party::User(_)) => real_name.map_or_else(|| format!("user #{}", id.0), str::to_string),
        (Author::Customer(id), _) => real_name.map_or_else(|| format!("customer #{}", id.0), str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustomerId, UserId};

    const SAM: Author = Author::User(UserId(1));
    const CARLA: Author = Author::Customer(CustomerId(7));
    const A_USER: Party = Party::User(UserId(2));
    const A_CUSTOMER: Party = Party::Customer(CustomerId(8));

    fn settings(display: Option<&str>) -> CompanySettings {
        CompanySettings { staff_display_name: display.map(str::to_string), ..CompanySettings::default() }
    }

    #[test]
    fn every_author_to_every_reader_with_and_without_a_display_name() {
        let cases = [
            (SAM, A_CUSTOMER, Some("Sam Agent"), None, "Sam Agent"),
            (SAM, A_CUSTOMER, Some("Sam Agent"), Some("ACME Support"), "ACME Support"),
            (SAM, A_CUSTOMER, None, None, "ACME support"),
            (SAM, A_USER, Some("Sam Agent"), Some("ACME Support"), "Sam Agent"),
            (SAM, A_USER, None, None, "user #1"),
            (CARLA, A_CUSTOMER, Some("Carla"), Some("ACME Support"), "Carla"),
            (CARLA, A_USER, Some("Carla"), Some("ACME Support"), "Carla"),
            (CARLA, A_USER, None, None, "customer #7"),
            (Author::Bot, A_CUSTOMER, None, Some("ACME Support"), "ACME"),
            (Author::Bot, A_USER, None, None, "ACME"),
        ];
        for (author, reader, real, display, expected) in cases {
            assert_eq!(
                shown_name(author, reader, real, &settings(display), "ACME"),
                expected,
                "{author:?} to {reader:?}"
            );
        }
    }
}
