//! The tenancy feature's API and page types: the organisation, its
//! branches, the operator's directory, plans and regions. The web edge
//! sees these, never the storage rows they are made from; the JSON shape
//! and the OpenAPI schema are the rows' own (same names, fields and docs).

use crate::kit::domain_schema;
use chrono::{DateTime, Utc};
use clinicos_domain::tenancy::tenant::SubscriptionStatus;
use clinicos_domain::{BranchId, Role, TenantId};
use clinicos_store::tenancy::{branches, platform, tenants};
use serde::{Deserialize, Serialize};

/// A tenant (organisation).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    #[schema(value_type = domain_schema::TenantId)]
    pub id: TenantId,
    pub slug: String,
    pub legal_name: String,
    pub display_name: String,
    pub has_logo: bool,
    pub address_line: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub home_region: String,
    pub default_locale: String,
    pub default_currency: String,
    pub default_time_zone: String,
    #[schema(value_type = domain_schema::SubscriptionStatus)]
    pub subscription_status: SubscriptionStatus,
    pub plan_code: String,
    pub idle_timeout_minutes: i64,
    pub absolute_timeout_minutes: i64,
    /// Roles that must use a second factor (TOTP) to reach anything but
    /// MFA enrolment and sign-out.
    #[schema(value_type = Vec<domain_schema::Role>)]
    pub mfa_required_roles: Vec<Role>,
    /// New staff devices need an admin's approval before they sign in.
    pub device_approval: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<tenants::Tenant> for Tenant {
    fn from(t: tenants::Tenant) -> Self {
        let tenants::Tenant {
            id,
            slug,
            legal_name,
            display_name,
            has_logo,
            address_line,
            city,
            state,
            postcode,
            country,
            home_region,
            default_locale,
            default_currency,
            default_time_zone,
            subscription_status,
            plan_code,
            idle_timeout_minutes,
            absolute_timeout_minutes,
            mfa_required_roles,
            device_approval,
            created_at,
            updated_at,
        } = t;
        Self {
            id,
            slug,
            legal_name,
            display_name,
            has_logo,
            address_line,
            city,
            state,
            postcode,
            country,
            home_region,
            default_locale,
            default_currency,
            default_time_zone,
            subscription_status,
            plan_code,
            idle_timeout_minutes,
            absolute_timeout_minutes,
            mfa_required_roles,
            device_approval,
            created_at,
            updated_at,
        }
    }
}

/// A clinic location.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Branch {
    #[schema(value_type = domain_schema::BranchId)]
    pub id: BranchId,
    #[serde(flatten)]
    pub fields: BranchFields,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<branches::Branch> for Branch {
    fn from(b: branches::Branch) -> Self {
        let branches::Branch {
            id,
            fields,
            is_active,
            created_at,
            updated_at,
        } = b;
        Self {
            id,
            fields: fields.into(),
            is_active,
            created_at,
            updated_at,
        }
    }
}

/// The editable fields of a branch.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BranchFields {
    pub code: String,
    pub name: String,
    pub address_line: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// IANA time zone, e.g. Asia/Kolkata.
    pub time_zone: String,
    /// ISO 4217.
    pub currency: String,
    pub gstin: Option<String>,
    pub vat_id: Option<String>,
    pub tin: Option<String>,
    /// Free-form opening hours, e.g. "Mon-Sat 09:00-18:00".
    pub working_hours: String,
    pub phone: String,
    pub email: String,
}

impl From<branches::BranchFields> for BranchFields {
    fn from(f: branches::BranchFields) -> Self {
        let branches::BranchFields {
            code,
            name,
            address_line,
            city,
            state,
            postcode,
            country,
            time_zone,
            currency,
            gstin,
            vat_id,
            tin,
            working_hours,
            phone,
            email,
        } = f;
        Self {
            code,
            name,
            address_line,
            city,
            state,
            postcode,
            country,
            time_zone,
            currency,
            gstin,
            vat_id,
            tin,
            working_hours,
            phone,
            email,
        }
    }
}

/// Filters of the branch list.
#[derive(Clone, Debug, Default)]
pub struct BranchFilter {
    pub active: Option<bool>,
    /// Exact city, case-insensitive.
    pub city: Option<String>,
}

impl From<&BranchFilter> for branches::BranchFilter {
    fn from(f: &BranchFilter) -> Self {
        let BranchFilter { active, city } = f;
        Self {
            active: *active,
            city: city.clone(),
        }
    }
}

/// A directory entry: where a tenant lives and its status.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryEntry {
    #[schema(value_type = domain_schema::TenantId)]
    pub tenant_id: TenantId,
    pub slug: String,
    pub display_name: String,
    pub region_code: String,
    pub plan_code: String,
    #[schema(value_type = domain_schema::SubscriptionStatus)]
    pub status: SubscriptionStatus,
    pub created_at: DateTime<Utc>,
}

impl From<platform::DirectoryEntry> for DirectoryEntry {
    fn from(e: platform::DirectoryEntry) -> Self {
        let platform::DirectoryEntry {
            tenant_id,
            slug,
            display_name,
            region_code,
            plan_code,
            status,
            created_at,
        } = e;
        Self {
            tenant_id,
            slug,
            display_name,
            region_code,
            plan_code,
            status,
            created_at,
        }
    }
}

/// A subscription plan.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    pub code: String,
    pub name: String,
    pub max_branches: i64,
    pub max_staff: i64,
    pub price_minor: i64,
    pub currency: String,
}

impl From<platform::Plan> for Plan {
    fn from(p: platform::Plan) -> Self {
        let platform::Plan {
            code,
            name,
            max_branches,
            max_staff,
            price_minor,
            currency,
        } = p;
        Self {
            code,
            name,
            max_branches,
            max_staff,
            price_minor,
            currency,
        }
    }
}

impl From<Plan> for platform::Plan {
    fn from(p: Plan) -> Self {
        let Plan {
            code,
            name,
            max_branches,
            max_staff,
            price_minor,
            currency,
        } = p;
        Self {
            code,
            name,
            max_branches,
            max_staff,
            price_minor,
            currency,
        }
    }
}

/// A data-residency region (the database URL is never shown in full).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Region {
    pub code: String,
    pub name: String,
    /// "sqlite" or "postgres" (the URL itself may hold credentials).
    pub backend: String,
}

impl From<platform::Region> for Region {
    fn from(r: platform::Region) -> Self {
        let platform::Region {
            code,
            name,
            backend,
        } = r;
        Self {
            code,
            name,
            backend,
        }
    }
}
