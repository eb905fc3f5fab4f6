//! Password policy: at least 10 characters, at most 128, and not guessable
//! (zxcvbn score >= 3, which rejects passwords on its common/breached lists,
//! dictionary words, keyboard walks and the user's own name or email).

/// Why a new password was refused. The message is safe to show the user.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password must be at least {0} characters long")]
    TooShort(usize),
    #[error("the password must be at most {0} characters long")]
    TooLong(usize),
    #[error(
        "the password is too common or too easy to guess; use a longer phrase of unrelated words"
    )]
    Guessable,
}

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// Check a new password; `context` holds words the password must not lean
/// on (the user's name, email, the clinic's name).
pub fn check_strength(password: &str, context: &[&str]) -> Result<(), WeakPassword> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(WeakPassword::TooShort(MIN_LEN));
    }
    if len > MAX_LEN {
        return Err(WeakPassword::TooLong(MAX_LEN));
    }
    // The user's own name, email or clinic name inside the password makes
    // it guessable to anyone who knows them, whatever zxcvbn scores.
    let lower = password.to_lowercase();
    let leans_on_context = context
        .iter()
        .flat_map(|c| c.split(|ch: char| !ch.is_alphanumeric()))
        .filter(|t| t.chars().count() >= 4)
        .any(|t| lower.contains(&t.to_lowercase()));
    if leans_on_context {
        return Err(WeakPassword::Guessable);
    }
    let score = zxcvbn::zxcvbn(password, context).score();
    if (score as u8) < 3 {
        return Err(WeakPassword::Guessable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_short_passwords_are_refused() {
        assert_eq!(
            check_strength("short", &[]),
            Err(WeakPassword::TooShort(MIN_LEN))
        );
        assert_eq!(
            check_strength("password123", &[]),
            Err(WeakPassword::Guessable)
        );
        assert_eq!(
            check_strength("qwertyuiop", &[]),
            Err(WeakPassword::Guessable)
        );
        assert_eq!(
            check_strength("1234567890", &[]),
            Err(WeakPassword::Guessable)
        );
        assert_eq!(
            check_strength("ananyasharma1", &["Ananya Sharma", "ananya@clinic.example"]),
            Err(WeakPassword::Guessable)
        );
    }

    #[test]
    fn a_passphrase_is_accepted() {
        assert_eq!(
            check_strength("correct-horse-battery-staple-42", &[]),
            Ok(())
        );
    }
}
