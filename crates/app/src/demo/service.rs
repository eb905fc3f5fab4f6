//! The demo service: every use case of the feature, on one type that
//! borrows the shared core ([`App`]: store, cipher, clock, settings).
//! Reached as `app.demo()`.

use crate::App;

/// The demo use cases (`app.demo()`).
#[derive(Clone, Copy)]
pub struct Demo<'a> {
    pub(crate) app: &'a App,
}

impl<'a> Demo<'a> {
    pub(crate) fn new(app: &'a App) -> Self {
        Self { app }
    }
}
