//! What text the product accepts from anyone: no control characters
//! (U+0000, which PostgreSQL cannot store, and the rest of C0 and C1, ANSI
//! escapes included) except tab, line feed and carriage return, and no
//! explicit text-direction overrides, embeddings or isolates (U+202A..E,
//! U+2066..9), which can make a name or a file name read as something it
//! is not. Right-to-left scripts themselves, and the implicit direction
//! marks U+200E / U+200F, are fine.

/// What is wrong with `s`, if anything (the message names no value).
pub fn text_problem(s: &str) -> Option<&'static str> {
    s.chars().find_map(|c| match c {
        '\t' | '\n' | '\r' => None,
        c if c.is_control() => Some("must not contain control characters"),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
            Some("must not contain text-direction override characters")
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_and_direction_overrides_are_named() {
        for bad in [
            "a\u{0}",
            "\u{1b}[31mred",
            "x\u{7f}",
            "c1\u{85}",
            "evil\u{202E}fdp.exe",
            "\u{2066}x",
        ] {
            assert!(text_problem(bad).is_some(), "{bad:?}");
        }
        for good in [
            "Meera Iyer",
            "line\nbreak\tand tab\r\n",
            "मीरा",
            "مريم",
            "\u{200F}שלום",
            "",
        ] {
            assert_eq!(text_problem(good), None, "{good:?}");
        }
    }

    proptest! {
        #[test]
        fn printable_text_always_passes(s in "[\\PC\t\n]*") {
            let has_override = s.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'));
            prop_assert_eq!(text_problem(&s).is_none(), !has_override);
        }

        #[test]
        fn any_control_character_fails(pre in "\\PC*", c in prop::char::range('\u{0}', '\u{1f}'), post in "\\PC*") {
            prop_assume!(!matches!(c, '\t' | '\n' | '\r'));
            let s = format!("{pre}{c}{post}");
            prop_assert!(text_problem(&s).is_some());
        }
    }
}
