//! The identity feature's API and page types: staff users and their
//! profiles, sessions and devices, and the staff-list filter. The web edge
//! sees these, never the storage rows they are made from; the JSON shape
//! and the OpenAPI schema are the rows' own (same names, fields and docs).

use crate::kit::domain_schema;
use chrono::{DateTime, Utc};
use clinicos_domain::{BranchId, Role, SessionId, UserId};
use clinicos_store::identity::{devices, users};
use serde::{Deserialize, Serialize};

/// A staff member as shown to admins and to themselves.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    #[schema(value_type = domain_schema::UserId)]
    pub id: UserId,
    pub email: String,
    #[serde(flatten)]
    pub profile: UserProfile,
    pub locale: String,
    pub has_avatar: bool,
    pub has_signature: bool,
    pub is_active: bool,
    #[schema(value_type = Vec<domain_schema::Role>)]
    pub roles: Vec<Role>,
    #[schema(value_type = Vec<domain_schema::BranchId>)]
    pub branch_ids: Vec<BranchId>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<users::User> for User {
    fn from(u: users::User) -> Self {
        let users::User {
            id,
            email,
            profile,
            locale,
            has_avatar,
            has_signature,
            is_active,
            roles,
            branch_ids,
            last_login_at,
            created_at,
            updated_at,
        } = u;
        Self {
            id,
            email,
            profile: profile.into(),
            locale,
            has_avatar,
            has_signature,
            is_active,
            roles,
            branch_ids,
            last_login_at,
            created_at,
            updated_at,
        }
    }
}

/// Profile fields a user (or an admin) may edit.
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserProfile {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    /// Languages spoken, e.g. ["en", "hi", "ta"].
    #[serde(default)]
    pub languages: Vec<String>,
    /// Clinicians: registration number with the council/board.
    #[serde(default)]
    pub registration_number: Option<String>,
    #[serde(default)]
    pub registration_council: Option<String>,
    #[serde(default)]
    pub qualifications: Option<String>,
    #[serde(default)]
    pub specialisation: Option<String>,
    /// National health-professional id (India HPR id, US NPI, ...).
    #[serde(default)]
    pub health_professional_id: Option<String>,
}

/// Moves the same fields either way (the store row has exactly these).
macro_rules! profile_fields {
    ($from:path => $to:path, $p:expr) => {{
        let $from {
            name,
            phone,
            languages,
            registration_number,
            registration_council,
            qualifications,
            specialisation,
            health_professional_id,
        } = $p;
        $to {
            name,
            phone,
            languages,
            registration_number,
            registration_council,
            qualifications,
            specialisation,
            health_professional_id,
        }
    }};
}

impl From<users::UserProfile> for UserProfile {
    fn from(p: users::UserProfile) -> Self {
        profile_fields!(users::UserProfile => UserProfile, p)
    }
}

impl From<UserProfile> for users::UserProfile {
    fn from(p: UserProfile) -> Self {
        profile_fields!(UserProfile => users::UserProfile, p)
    }
}

/// Which stored image of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    Avatar,
    Signature,
}

impl From<Image> for users::Image {
    fn from(i: Image) -> Self {
        match i {
            Image::Avatar => users::Image::Avatar,
            Image::Signature => users::Image::Signature,
        }
    }
}

/// Filters of the staff list (all optional, combined with AND).
#[derive(Clone, Debug, Default)]
pub struct StaffFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Case-insensitive substring of name or email.
    pub text: Option<String>,
}

impl From<&StaffFilter> for users::StaffFilter {
    fn from(f: &StaffFilter) -> Self {
        let StaffFilter { role, active, text } = f;
        Self {
            role: *role,
            active: *active,
            text: text.clone(),
        }
    }
}

/// What a user sees of their own sessions.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SessionSummary {
    #[schema(value_type = domain_schema::SessionId)]
    pub id: SessionId,
    pub kind: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub current: bool,
}

/// A device a staff member signed in from (or tried to).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Device {
    pub id: String,
    #[schema(value_type = domain_schema::UserId)]
    pub user_id: UserId,
    /// pending, approved or denied.
    pub status: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<devices::Device> for Device {
    fn from(d: devices::Device) -> Self {
        let devices::Device {
            id,
            user_id,
            status,
            ip,
            user_agent,
            created_at,
            decided_at,
        } = d;
        Self {
            id,
            user_id,
            status,
            ip,
            user_agent,
            created_at,
            decided_at,
        }
    }
}

/// One request counted in a shared rate window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowHit {
    /// Requests in the current window, this one included.
    pub count: i64,
    /// When the current window ends (for `Retry-After`).
    pub window_ends: DateTime<Utc>,
}
