//! The services of the application, one per feature, each borrowing the
//! shared core ([`App`]). This list and `state.rs` are the only `impl App`.

use crate::demo::service::Demo;
use crate::governance::service::Governance;
use crate::identity::service::Identity;
use crate::messaging::service::Messaging;
use crate::patients::service::Patients;
use crate::tenancy::service::Tenancy;
use crate::App;

impl App {
    /// The patients use cases.
    pub fn patients(&self) -> Patients<'_> {
        Patients::new(self)
    }

    /// The identity use cases.
    pub fn identity(&self) -> Identity<'_> {
        Identity::new(self)
    }

    /// The governance use cases.
    pub fn governance(&self) -> Governance<'_> {
        Governance::new(self)
    }

    /// The tenancy use cases.
    pub fn tenancy(&self) -> Tenancy<'_> {
        Tenancy::new(self)
    }

    /// The messaging use cases.
    pub fn messaging(&self) -> Messaging<'_> {
        Messaging::new(self)
    }

    /// The demo use cases.
    pub fn demo(&self) -> Demo<'_> {
        Demo::new(self)
    }
}
