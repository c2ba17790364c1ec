//! Saved replies: the team's canned answers, picked in the message box, with variables filled
//! for the conversation they go into.

use crate::ids::{SavedReplyId, UserId};
use crate::values::{self, ValidationError};
use serde::{Deserialize, Serialize};

/// A canned answer. Its title is what the message box's `/` finds it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SavedReply {
    pub id: SavedReplyId,
    pub title: String,
    /// Markdown with variables such as `{{customer.first_name}}`.
    pub body: String,
    pub created_by: UserId,
    pub updated_at: i64,
}

/// The variables a body may use, with what each becomes.
pub const VARIABLES: &[(&str, &str)] = &[
    ("customer.name", "the customer's name"),
    ("customer.first_name", "the customer's first name"),
    ("item", "the item, as in \"Ticket #12\""),
    ("item.number", "the item's number"),
    ("agent.name", "your name"),
    ("agent.first_name", "your first name"),
];

/// What the variables become in one conversation, for one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// The conversation's customer, if it has one.
    pub customer: Option<String>,
    /// `("Ticket", 12)`, if it hangs off an item.
    pub item: Option<(String, i64)>,
    pub agent: String,
}

/// A title: one line of 1 to 200 characters.
pub fn parse_title(raw: &str) -> Result<String, ValidationError> {
    values::parse_name("title", raw)
}

/// A body: what a message body may be.
pub fn parse_body(raw: &str) -> Result<String, ValidationError> {
    values::parse_body(raw)
}

/// Why a body cannot be saved though well formed: a variable Parley does not know, named with
/// the ones it does.
pub fn unknown_variable(body: &str) -> Option<String> {
    let (name, _) =
        variables_in(body).into_iter().find(|(name, _)| !VARIABLES.iter().any(|(known, _)| known == name))?;
    let known: Vec<&str> = VARIABLES.iter().map(|(n, _)| *n).collect();
    Some(format!("unknown variable {{{{{name}}}}}; known: {}", known.join(", ")))
}

/// The body with its variables filled. A value the conversation has not (no customer, no item)
/// becomes nothing, and the space before it goes with it ("Hello {{customer.first_name}}," →
/// "Hello,").
pub fn fill(body: &str, values: &Values) -> String {
    let first = |name: &str| name.split_whitespace().next().unwrap_or("").to_string();
    let value = |name: &str| -> String {
        match name {
            "customer.name" => values.customer.clone().unwrap_or_default(),
            "customer.first_name" => values.customer.as_deref().map(first).unwrap_or_default(),
            "item" => values.item.as_ref().map(|(kind, n)| format!("{kind} #{n}")).unwrap_or_default(),
            "item.number" => values.item.as_ref().map(|(_, n)| n.to_string()).unwrap_or_default(),
            "agent.name" => values.agent.clone(),
            "agent.first_name" => first(&values.agent),
            _ => format!("{{{{{name}}}}}"),
        }
    };
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    for (name, range) in variables_in(body) {
        let start = range.start - (body.len() - rest.len());
        let before = &rest[..start];
        let filled = value(name);
        if filled.is_empty() {
            out.push_str(before.trim_end_matches(' '));
        } else {
            out.push_str(before);
            out.push_str(&filled);
        }
        rest = &rest[start + range.len()..];
    }
    out.push_str(rest);
    out
}

/// Each `{{ name }}` of a body, with its place.
fn variables_in(body: &str) -> Vec<(&str, std::ops::Range<usize>)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = body[from..].find("{{") {
        let start = from + open;
        let Some(close) = body[start + 2..].find("}}") else { break };
        let end = start + 2 + close + 2;
        found.push((body[start + 2..end - 2].trim(), start..end));
        from = end;
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn values() -> Values {
        Values { customer: Some("Carla Diaz".into()), item: Some(("Ticket".into(), 12)), agent: "Mia Wong".into() }
    }

    #[test]
    fn variables_are_filled_for_the_conversation() {
        let body = "Hello {{customer.first_name}}, about {{ item }} (#{{item.number}}): fixed. {{agent.first_name}} / {{agent.name}} for {{customer.name}}";
        assert_eq!(fill(body, &values()), "Hello Carla, about Ticket #12 (#12): fixed. Mia / Mia Wong for Carla Diaz");
    }

    #[test]
    fn what_the_conversation_lacks_leaves_no_gap() {
        let none = Values { agent: "Mia".into(), ..Values::default() };
        assert_eq!(fill("Hello {{customer.first_name}}, about {{item}}.", &none), "Hello, about.");
        assert_eq!(fill("{{customer.name}}", &none), "");
        assert_eq!(fill("no variables {{ unclosed", &none), "no variables {{ unclosed");
    }

    #[test]
    fn an_unknown_variable_is_refused_on_save_with_its_name() {
        assert_eq!(unknown_variable("Hi {{customer.first_name}} from {{ agent.name }}"), None);
        let e = unknown_variable("Hi {{customer.first_name}} {{customer.nickname}}").unwrap();
        assert!(e.contains("{{customer.nickname}}") && e.contains("customer.first_name"), "{e}");
        assert!(parse_body("  ").is_err());
        assert!(parse_title("").is_err());
    }
}
