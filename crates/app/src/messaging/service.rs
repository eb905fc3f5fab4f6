//! The messaging service: every use case of the feature, on one type that
//! borrows the shared core ([`App`]). Reached as `app.messaging()`.

use crate::App;

/// The messaging use cases (`app.messaging()`).
#[derive(Clone, Copy)]
pub struct Messaging<'a> {
    pub(crate) app: &'a App,
}

impl<'a> Messaging<'a> {
    pub(crate) fn new(app: &'a App) -> Self {
        Self { app }
    }
}
