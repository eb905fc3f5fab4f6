//! `Debug` for the types that hold decrypted PHI (a patient's contact
//! details, allergies, notes, file names and bytes): it prints the type's
//! name and `{ .. }`, never a value, so a `{:?}` in a log line, an error or
//! a panic message cannot carry PHI.

/// Implement the redacting `Debug` for each type named.
macro_rules! redacted_debug {
    ($($t:ident),* $(,)?) => {
        $(
            impl std::fmt::Debug for $t {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(concat!(stringify!($t), " { .. }"))
                }
            }
        )*
    };
}
pub(crate) use redacted_debug;
