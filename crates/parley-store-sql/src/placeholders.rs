//! A statement is either all literal `$n` parameters or all builder binds, never both: sqlx's
//! SQLite numbers an anonymous `?` from 1 whatever `$n` precede it, so a mix binds the wrong values
//! without an error.

/// Whether `sql` mixes literal `$n` parameters with anonymous `?` ones. Quoted text, `$$` bodies
/// and comments are skipped.
pub fn mixed(sql: &str) -> bool {
    let (mut numbered, mut anonymous) = (false, false);
    // What ends the text being skipped, if any.
    let mut skipping: Option<&str> = None;
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        if let Some(end) = skipping {
            if rest.starts_with(end) {
                rest = &rest[end.len()..];
                skipping = None;
            } else {
                rest = &rest[c.len_utf8()..];
            }
            continue;
        }
        let opens = ["'", "\"", "$$", "--", "/*"].into_iter().find(|open| rest.starts_with(open));
        if let Some(open) = opens {
            skipping = Some(match open {
                "--" => "\n",
                "/*" => "*/",
                quote => quote,
            });
            rest = &rest[open.len()..];
            continue;
        }
        match c {
            '$' if rest[1..].starts_with(|d: char| d.is_ascii_digit()) => numbered = true,
            '?' => anonymous = true,
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    numbered && anonymous
}

#[cfg(test)]
mod tests {
    use super::mixed;

    #[test]
    fn a_statement_with_both_kinds_of_parameter_is_caught() {
        assert!(mixed("UPDATE t SET a = $1 WHERE id IN (?, ?)"));
        assert!(!mixed("UPDATE t SET a = $1 WHERE id = $2"));
        assert!(!mixed("UPDATE t SET a = ? WHERE id = ?"));
        assert!(!mixed("SELECT '$1?' FROM t WHERE id = $1"), "quoted text is not a parameter");
        assert!(!mixed("SELECT $ FROM t WHERE a = ?"), "a dollar without a number is not one");
        assert!(!mixed("-- who? \nSELECT a FROM t WHERE id = $1"), "nor a comment");
        assert!(!mixed("CREATE FUNCTION f() AS $$ SELECT $1 $$; SELECT ?"), "nor a function body");
    }
}
