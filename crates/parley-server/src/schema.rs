//! Schemas of the text fields the domain checks (`parley_domain::values`), so the OpenAPI document
//! says what the server accepts and a client generator or fuzzer builds valid input from it.

use parley_domain::values::{MAX_BODY_CHARS, MAX_NAME_CHARS, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type};

/// No control characters, and at least one that is not white space.
const ONE_LINE: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";
/// As [`ONE_LINE`], with line breaks and tabs.
const LINES: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";

fn string(min: usize, max: usize) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).min_length(Some(min)).max_length(Some(max))
}

/// A name, title or subject: one line of 1 to 200 characters.
pub fn name() -> Object {
    string(1, MAX_NAME_CHARS).pattern(Some(ONE_LINE)).build()
}

/// A message body (Markdown): 1 to 50,000 characters, line breaks allowed.
pub fn body() -> Object {
    string(1, MAX_BODY_CHARS).pattern(Some(LINES)).build()
}

/// An email address.
pub fn email() -> Object {
    string(3, 254).format(Some(SchemaFormat::KnownFormat(KnownFormat::Email))).build()
}

/// A new password: 8 to 256 characters.
pub fn password() -> Object {
    string(MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS).build()
}

/// A domain name such as `client.example`.
pub fn domain() -> Object {
    string(3, 253)
        .pattern(Some(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"))
        .build()
}

/// `schema`, or `null` (an optional field that may also be sent as `null`).
fn or_null(schema: Object) -> Object {
    let mut schema = schema;
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

pub fn name_or_null() -> Object {
    or_null(name())
}

pub fn body_or_null() -> Object {
    or_null(body())
}

pub fn password_or_null() -> Object {
    or_null(password())
}

/// A name that may be left blank (a visitor who gives none is "Visitor"), or `null`.
pub fn blank_or_name_or_null() -> Object {
    or_null(string(0, MAX_NAME_CHARS).pattern(Some(r"^[^\u0000-\u001f\u007f-\u009f]*$")).build())
}

/// A few sentences (the widget's greeting): 1 to 500 characters, line breaks allowed, or `null`.
pub fn greeting_or_null() -> Object {
    or_null(string(1, 500).pattern(Some(LINES)).build())
}

/// The triggers an admin's automation may have: every one but the core rule's (R29).
pub fn automation_trigger() -> Object {
    use parley_domain::automation::Trigger;
    let allowed = Trigger::ALL.iter().filter(|t| **t != Trigger::NewMessage).map(|t| t.as_str());
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(allowed)).build()
}

/// The actions an admin's automation may take: the bot posts, an email goes out, a webhook is
/// called (the core rule's is its own).
pub fn automation_action() -> Object {
    let allowed = ["post_message", "send_email", "call_webhook"];
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(allowed)).build()
}
