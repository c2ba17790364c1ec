//! A statement is either all literal `$n` parameters or all builder binds, never both: sqlx's
//! SQLite numbers an anonymous `?` from 1 whatever `$n` precede it, so a mix binds the wrong values
//! without an error.

/// Whether `sql` mixes literal `$n` parameters with anonymous `?` ones. Quoted text is skipped.
pub fn mixed(sql: &str) -> bool {
    let (mut numbered, mut anonymous) = (false, false);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => numbered = true,
            (None, '?') => anonymous = true,
            _ => {}
        }
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
    }
}
