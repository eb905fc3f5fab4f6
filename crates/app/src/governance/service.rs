//! The governance service: every use case of the feature, on one type that
//! borrows the shared core ([`App`]: store, cipher, clock, settings).
//! Reached as `app.governance()`.

use crate::App;

/// The governance use cases (`app.governance()`).
#[derive(Clone, Copy)]
pub struct Governance<'a> {
    pub(crate) app: &'a App,
}

impl<'a> Governance<'a> {
    pub(crate) fn new(app: &'a App) -> Self {
        Self { app }
    }
}
