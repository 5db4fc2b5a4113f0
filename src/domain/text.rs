//! What free text people type may hold: no control characters (line breaks and tabs where the
//! text has lines) and no text-direction overrides, which can make a title read backwards.

/// Whether `c` may appear in a one-line text (a title).
fn allowed_in_line(c: char) -> bool {
    !c.is_control() && !is_direction_control(c)
}

/// Whether `c` may appear in a text of several lines (a description, a reason).
fn allowed_in_lines(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t') || allowed_in_line(c)
}

/// The embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069).
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub fn is_clean_line(text: &str) -> bool {
    text.chars().all(allowed_in_line)
}

pub fn is_clean_lines(text: &str) -> bool {
    text.chars().all(allowed_in_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_overrides_are_refused_and_lines_keep_their_breaks() {
        assert!(is_clean_line("Brass lamp, 1920s — «Café»"));
        assert!(!is_clean_line("Brass\u{202e}pmal"));
        assert!(!is_clean_line("Brass\u{0}lamp"));
        assert!(!is_clean_line("Brass\nlamp"));
        assert!(is_clean_lines("Works.\r\nNo chips.\tSigned."));
        assert!(!is_clean_lines("Works\u{2066}."));
        assert!(!is_clean_lines("Works\u{7}."));
    }
}
