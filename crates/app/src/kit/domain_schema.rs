//! How the API describes the domain's values. `clinicos-domain` holds rules
//! and knows nothing of OpenAPI, so every domain type that appears in the
//! API document has its schema here: a type with the same name, serde shape
//! and doc comment, named by `#[schema(value_type = ...)]` wherever an API
//! type holds the domain value.
//!
//! Invariant: each schema serialises exactly like its domain type. The
//! `From` conversions below match every field and variant, so a change to a
//! domain type stops compiling here until its schema follows, and the tests
//! compare the JSON of both.

use clinicos_domain as domain;
use serde::Serialize;

macro_rules! id_schema {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(utoipa::ToSchema)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub uuid::Uuid);
    };
}

id_schema!(
    /// An organisation (tenant): the unit of isolation.
    TenantId
);
id_schema!(
    /// A clinic location of a tenant.
    BranchId
);
id_schema!(
    /// A staff member of a tenant.
    UserId
);
id_schema!(
    /// A server-side sign-in session (browser or API client).
    SessionId
);
id_schema!(
    /// A patient of a tenant (one registry record).
    PatientId
);
id_schema!(
    /// One entry of a patient's clinical record: a medical-history entry,
    /// an allergy, a condition or a medication.
    RecordId
);
id_schema!(
    /// A file filed to a patient (report, image, lab file).
    AttachmentId
);
id_schema!(
    /// One of a patient's identifiers (national id, insurance member id,
    /// passport, ...).
    IdentifierId
);
id_schema!(
    /// A parent or guardian link between two patients.
    FamilyLinkId
);
id_schema!(
    /// An expiring link that shares one attachment without signing in.
    ShareLinkId
);
id_schema!(
    /// The merge of one patient record into another (undoable).
    MergeId
);
id_schema!(
    /// A visit (an attachment may name the visit it belongs to).
    VisitId
);
id_schema!(
    /// A legal hold on a patient record (it cannot be erased meanwhile).
    LegalHoldId
);

/// A staff role. The code (`as_str`) is what is stored and sent over the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Organisation owner (super admin).
    Owner,
    BranchAdmin,
    Doctor,
    Nurse,
    /// Front desk / receptionist.
    FrontDesk,
    Pharmacist,
    LabTechnician,
    Accountant,
    PrivacyOfficer,
}

impl From<domain::Role> for Role {
    fn from(r: domain::Role) -> Self {
        use domain::Role as D;
        match r {
            D::Owner => Role::Owner,
            D::BranchAdmin => Role::BranchAdmin,
            D::Doctor => Role::Doctor,
            D::Nurse => Role::Nurse,
            D::FrontDesk => Role::FrontDesk,
            D::Pharmacist => Role::Pharmacist,
            D::LabTechnician => Role::LabTechnician,
            D::Accountant => Role::Accountant,
            D::PrivacyOfficer => Role::PrivacyOfficer,
        }
    }
}

/// Subscription status of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Trial,
    Active,
    Suspended,
    Closed,
}

impl From<domain::tenancy::tenant::SubscriptionStatus> for SubscriptionStatus {
    fn from(s: domain::tenancy::tenant::SubscriptionStatus) -> Self {
        use domain::tenancy::tenant::SubscriptionStatus as D;
        match s {
            D::Trial => SubscriptionStatus::Trial,
            D::Active => SubscriptionStatus::Active,
            D::Suspended => SubscriptionStatus::Suspended,
            D::Closed => SubscriptionStatus::Closed,
        }
    }
}

/// What a link says about its two patients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The responsible patient is the dependant's parent.
    Parent,
    /// The responsible patient is the dependant's legal guardian (of a
    /// minor, or of a dependent adult).
    Guardian,
}

impl From<domain::patients::links::LinkKind> for LinkKind {
    fn from(k: domain::patients::links::LinkKind) -> Self {
        use domain::patients::links::LinkKind as D;
        match k {
            D::Parent => LinkKind::Parent,
            D::Guardian => LinkKind::Guardian,
        }
    }
}

/// The `meta` block of a paged response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PageMeta {
    pub page: u32,
    pub limit: u32,
    pub total: u64,
    pub total_pages: u64,
}

impl From<domain::kit::page::PageMeta> for PageMeta {
    fn from(m: domain::kit::page::PageMeta) -> Self {
        let domain::kit::page::PageMeta {
            page,
            limit,
            total,
            total_pages,
        } = m;
        Self {
            page,
            limit,
            total,
            total_pages,
        }
    }
}

/// One invalid field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl From<domain::kit::validate::FieldError> for FieldError {
    fn from(e: domain::kit::validate::FieldError) -> Self {
        let domain::kit::validate::FieldError { field, message } = e;
        Self { field, message }
    }
}

/// A tenant's thresholds and limits. Missing keys in a stored document take
/// the defaults, so new settings need no data migration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SecuritySettings {
    /// Failed sign-ins for one account that raise `failed_sign_ins` (default 5).
    pub failed_sign_in_threshold: i64,
    /// ... within this many minutes (default 10).
    pub failed_sign_in_window_minutes: i64,
    /// Distinct patients one user may read before `mass_patient_reads` (default 50: more than 50 raises).
    pub patient_read_threshold: i64,
    /// ... within this many minutes (default 10).
    pub patient_read_window_minutes: i64,
    /// Raise `new_network` / `new_country` on sign-in (default on).
    pub new_network_alerts: bool,
    /// Working hours used when the exporting user has no branch or the
    /// branch states none, e.g. `Mon-Sat 08:00-20:00` (default).
    pub default_working_hours: String,
    /// Signed-in API requests per minute per session (server default when
    /// unset, seed 003: 1000).
    pub api_requests_per_minute: Option<i64>,
}

/// The documented defaults are the domain's defaults.
impl Default for SecuritySettings {
    fn default() -> Self {
        domain::governance::security::SecuritySettings::default().into()
    }
}

impl From<domain::governance::security::SecuritySettings> for SecuritySettings {
    fn from(s: domain::governance::security::SecuritySettings) -> Self {
        let domain::governance::security::SecuritySettings {
            failed_sign_in_threshold,
            failed_sign_in_window_minutes,
            patient_read_threshold,
            patient_read_window_minutes,
            new_network_alerts,
            default_working_hours,
            api_requests_per_minute,
        } = s;
        Self {
            failed_sign_in_threshold,
            failed_sign_in_window_minutes,
            patient_read_threshold,
            patient_read_window_minutes,
            new_network_alerts,
            default_working_hours,
            api_requests_per_minute,
        }
    }
}

/// The retention that applies to one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Retention {
    /// Keep audit events at least this many years.
    pub audit_years: u32,
    /// Keep an adult's medical record this many years after the last entry.
    pub records_adult_years: u32,
    /// Records of a patient first seen as a minor: also until this age.
    pub minors_until_age: Option<u32>,
    /// The packs that apply (codes); empty when none matched and the
    /// longest period of every pack is used.
    pub packs: Vec<String>,
}

impl From<domain::governance::jurisdiction::Retention> for Retention {
    fn from(r: domain::governance::jurisdiction::Retention) -> Self {
        let domain::governance::jurisdiction::Retention {
            audit_years,
            records_adult_years,
            minors_until_age,
            packs,
        } = r;
        Self {
            audit_years,
            records_adult_years,
            minors_until_age,
            packs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, to_value};

    fn same_json<D: Serialize + Clone, S: Serialize + From<D>>(d: D) {
        assert_eq!(to_value(d.clone()).ok(), to_value(S::from(d)).ok());
    }

    #[test]
    fn enums_serialise_like_the_domain() {
        for r in domain::Role::ALL {
            same_json::<_, Role>(r);
        }
        use domain::tenancy::tenant::SubscriptionStatus as S;
        for s in [S::Trial, S::Active, S::Suspended, S::Closed] {
            same_json::<_, SubscriptionStatus>(s);
        }
        for k in domain::patients::links::LinkKind::ALL {
            same_json::<_, LinkKind>(k);
        }
    }

    #[test]
    fn structs_serialise_like_the_domain() {
        let req = domain::kit::page::PageRequest::new(Some(2), Some(10)).expect("page");
        same_json::<_, PageMeta>(domain::kit::page::PageMeta::new(req, 35));
        same_json::<_, FieldError>(domain::kit::validate::FieldError {
            field: "name".into(),
            message: "is required".into(),
        });
        same_json::<_, SecuritySettings>(domain::governance::security::SecuritySettings::default());
        same_json::<_, Retention>(domain::governance::jurisdiction::Retention {
            audit_years: 6,
            records_adult_years: 10,
            minors_until_age: Some(21),
            packs: vec!["IN".into()],
        });
        assert_eq!(
            to_value(SecuritySettings::default()).ok(),
            Some(json!({
                "failed_sign_in_threshold": 5,
                "failed_sign_in_window_minutes": 10,
                "patient_read_threshold": 50,
                "patient_read_window_minutes": 10,
                "new_network_alerts": true,
                "default_working_hours": "Mon-Sat 08:00-20:00",
                "api_requests_per_minute": null
            }))
        );
    }

    #[test]
    fn ids_are_uuid_strings() {
        let id = domain::UserId::new();
        assert_eq!(
            to_value(id).ok(),
            Some(serde_json::Value::String(id.as_text()))
        );
    }
}
