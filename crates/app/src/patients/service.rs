//! The patients service: every use case of the feature, on one type that
//! borrows the shared core ([`App`]: store, cipher, clock, settings).
//! Reached as `app.patients()`.

use crate::App;

/// The patients use cases (`app.patients()`).
#[derive(Clone, Copy)]
pub struct Patients<'a> {
    pub(crate) app: &'a App,
}

impl<'a> Patients<'a> {
    pub(crate) fn new(app: &'a App) -> Self {
        Self { app }
    }
}
