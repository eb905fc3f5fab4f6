//! The identity service: every use case of the feature, on one type that
//! borrows the shared core ([`App`]: store, cipher, clock, settings).
//! Reached as `app.identity()`.

use crate::App;

/// The identity use cases (`app.identity()`).
#[derive(Clone, Copy)]
pub struct Identity<'a> {
    pub(crate) app: &'a App,
}

impl<'a> Identity<'a> {
    pub(crate) fn new(app: &'a App) -> Self {
        Self { app }
    }
}
