//! The purpose of a patient read and the consent hook the policy point
//! asks about it. The consent engine will replace [`DefaultConsent`] with
//! the patient's recorded, purpose-specific consents.

use clinicos_store::governance::policy::PolicySettings;
use clinicos_store::patients::registry::PatientRow;

/// Why a patient's record is read (audited as the purpose of use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Treatment,
    Operations,
    /// Break-the-glass.
    Emergency,
    /// The patient reading their own record (portal; HL7 PATRQT).
    PatientRequest,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Treatment => "treatment",
            Purpose::Operations => "operations",
            Purpose::Emergency => "emergency",
            Purpose::PatientRequest => "patient_request",
        }
    }
}

/// The consent hook. The consent engine replaces the default policy with
/// the patient's recorded, purpose-specific consents; the policy point
/// only ever asks this question.
pub trait ConsentHook: Send + Sync {
    /// Does the patient's consent refuse this purpose?
    fn refuses(&self, settings: &PolicySettings, patient: &PatientRow, purpose: Purpose) -> bool;
}

/// Today's hook: the tenant's default policy. `implied`: care and
/// operations need no recorded consent. `explicit` (India DPDP, Gulf):
/// the patient's recorded consent to care is required; an emergency
/// (break-the-glass) proceeds without it, as the law allows.
pub struct DefaultConsent;

impl ConsentHook for DefaultConsent {
    fn refuses(&self, settings: &PolicySettings, patient: &PatientRow, purpose: Purpose) -> bool {
        settings.consent_policy == "explicit"
            && purpose != Purpose::Emergency
            && patient.care_consent_at.is_none()
    }
}
