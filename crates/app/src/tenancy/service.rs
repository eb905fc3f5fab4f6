//! The tenancy service: every use case of the feature, on one type that
//! borrows the shared core ([`App`]: store, cipher, clock, settings).
//! Reached as `app.tenancy()`.

use crate::App;

/// The tenancy use cases (`app.tenancy()`).
#[derive(Clone, Copy)]
pub struct Tenancy<'a> {
    pub(crate) app: &'a App,
}

impl<'a> Tenancy<'a> {
    pub(crate) fn new(app: &'a App) -> Self {
        Self { app }
    }
}
