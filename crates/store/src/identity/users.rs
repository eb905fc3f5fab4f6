//! Staff users, their roles and branch memberships.

use crate::kit::row::{ts, RowExt};
use crate::{StoreError, StoreResult, TenantTx};
use chrono::{DateTime, Utc};
use clinicos_domain::{BranchId, Role, UserId};
use sqlx::any::AnyRow;

/// A staff member as shown to admins and to themselves.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub profile: UserProfile,
    pub locale: String,
    pub has_avatar: bool,
    pub has_signature: bool,
    pub is_active: bool,
    pub roles: Vec<Role>,
    pub branch_ids: Vec<BranchId>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Profile fields a user (or an admin) may edit.
#[derive(Clone, Debug, Default)]
pub struct UserProfile {
    pub name: String,
    pub phone: String,
    /// Languages spoken, e.g. ["en", "hi", "ta"].
    pub languages: Vec<String>,
    /// Clinicians: registration number with the council/board.
    pub registration_number: Option<String>,
    pub registration_council: Option<String>,
    pub qualifications: Option<String>,
    pub specialisation: Option<String>,
    /// National health-professional id (India HPR id, US NPI, ...).
    pub health_professional_id: Option<String>,
}

/// What sign-in needs.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub id: UserId,
    pub password_hash: String,
    pub is_active: bool,
    pub name: String,
    pub email: String,
}

/// The columns of a user row that [`get`] and the staff list read.
pub const COLS: &str = "id, email, name, phone, languages, locale, registration_number, registration_council, \
    qualifications, specialisation, health_professional_id, avatar_mime, signature_mime, is_active, \
    last_login_at, created_at, updated_at";

/// The statement of [`get`]: one user by id (`$2`); roles and branches
/// follow ([`ROLES_SQL`], [`BRANCHES_SQL`]).
pub fn get_sql() -> String {
    format!("SELECT {COLS} FROM users WHERE tenant_id = $1 AND id = $2")
}

/// A user's roles (`$2`): the statement of [`roles`].
pub const ROLES_SQL: &str = "SELECT role FROM user_roles WHERE tenant_id = $1 AND user_id = $2";

/// A user's branches (`$2`), in id order: the statement of [`branches`].
pub const BRANCHES_SQL: &str =
    "SELECT branch_id FROM user_branches WHERE tenant_id = $1 AND user_id = $2 ORDER BY branch_id";

/// The columns of [`Credentials`] (what sign-in reads).
pub const CREDENTIAL_COLS: &str = "id, password_hash, is_active, name, email";

/// The statement of [`credentials_by_email`]: sign-in's lookup (`$2`).
pub fn credentials_by_email_sql() -> String {
    format!("SELECT {CREDENTIAL_COLS} FROM users WHERE tenant_id = $1 AND email = $2")
}

fn from_row(r: &AnyRow) -> StoreResult<User> {
    let langs = r.text("languages")?;
    Ok(User {
        id: r.parse("id")?,
        email: r.text("email")?,
        profile: UserProfile {
            name: r.text("name")?,
            phone: r.text("phone")?,
            languages: langs
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            registration_number: r.opt_text("registration_number")?,
            registration_council: r.opt_text("registration_council")?,
            qualifications: r.opt_text("qualifications")?,
            specialisation: r.opt_text("specialisation")?,
            health_professional_id: r.opt_text("health_professional_id")?,
        },
        locale: r.text("locale")?,
        has_avatar: r.opt_text("avatar_mime")?.is_some(),
        has_signature: r.opt_text("signature_mime")?.is_some(),
        is_active: r.flag("is_active")?,
        roles: Vec::new(),
        branch_ids: Vec::new(),
        last_login_at: r.opt_time("last_login_at")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn insert(
    tx: &mut TenantTx,
    id: UserId,
    email: &str,
    p: &UserProfile,
    locale: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("INSERT INTO users (tenant_id, id, email, name, phone, languages, locale, registration_number, \
            registration_council, qualifications, specialisation, health_professional_id, password_hash, \
            is_active, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14)")
        .bind(id.as_text())
        .bind(email.to_owned())
        .bind(p.name.clone())
        .bind(p.phone.clone())
        .bind(p.languages.join(","))
        .bind(locale.to_owned())
        .bind(p.registration_number.clone())
        .bind(p.registration_council.clone())
        .bind(p.qualifications.clone())
        .bind(p.specialisation.clone())
        .bind(p.health_professional_id.clone())
        .bind(password_hash.to_owned())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

pub async fn update_profile(
    tx: &mut TenantTx,
    id: UserId,
    p: &UserProfile,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE users SET name = $3, phone = $4, languages = $5, registration_number = $6, \
            registration_council = $7, qualifications = $8, specialisation = $9, health_professional_id = $10, \
            updated_at = $11 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(p.name.clone())
        .bind(p.phone.clone())
        .bind(p.languages.join(","))
        .bind(p.registration_number.clone())
        .bind(p.registration_council.clone())
        .bind(p.qualifications.clone())
        .bind(p.specialisation.clone())
        .bind(p.health_professional_id.clone())
        .bind(ts(now));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn set_locale(tx: &mut TenantTx, id: UserId, locale: &str) -> StoreResult<()> {
    let q = tx
        .q("UPDATE users SET locale = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(locale.to_owned());
    tx.exec(q).await?;
    Ok(())
}

pub async fn set_password(
    tx: &mut TenantTx,
    id: UserId,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(hash.to_owned())
        .bind(ts(now));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn set_active(
    tx: &mut TenantTx,
    id: UserId,
    active: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let q = tx
        .q("UPDATE users SET is_active = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(i64::from(active))
        .bind(ts(now));
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn touch_login(tx: &mut TenantTx, id: UserId, now: DateTime<Utc>) -> StoreResult<()> {
    let q = tx
        .q("UPDATE users SET last_login_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(id.as_text())
        .bind(ts(now));
    tx.exec(q).await?;
    Ok(())
}

/// Store an image (avatar or signature) already checked by the caller.
pub async fn set_image(
    tx: &mut TenantTx,
    id: UserId,
    which: Image,
    bytes: Vec<u8>,
    mime: &str,
) -> StoreResult<()> {
    let sql = match which {
        Image::Avatar => {
            "UPDATE users SET avatar = $3, avatar_mime = $4 WHERE tenant_id = $1 AND id = $2"
        }
        Image::Signature => {
            "UPDATE users SET signature = $3, signature_mime = $4 WHERE tenant_id = $1 AND id = $2"
        }
    };
    let q = tx
        .q(sql)
        .bind(id.as_text())
        .bind(bytes)
        .bind(mime.to_owned());
    if tx.exec(q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn image(
    tx: &mut TenantTx,
    id: UserId,
    which: Image,
) -> StoreResult<Option<(Vec<u8>, String)>> {
    let sql = match which {
        Image::Avatar => {
            "SELECT avatar AS b, avatar_mime AS m FROM users WHERE tenant_id = $1 AND id = $2"
        }
        Image::Signature => {
            "SELECT signature AS b, signature_mime AS m FROM users WHERE tenant_id = $1 AND id = $2"
        }
    };
    let q = tx.q(sql).bind(id.as_text());
    let row = tx.opt(q).await?.ok_or(StoreError::NotFound)?;
    Ok(match (row.bytes("b")?, row.opt_text("m")?) {
        (Some(b), Some(m)) => Some((b, m)),
        _ => None,
    })
}

/// Which stored image of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    Avatar,
    Signature,
}

pub async fn credentials_by_email(
    tx: &mut TenantTx,
    email: &str,
) -> StoreResult<Option<Credentials>> {
    let sql = credentials_by_email_sql();
    let q = tx.q(&sql).bind(email.to_owned());
    credentials(tx.opt(q).await?)
}

pub async fn credentials_by_id(tx: &mut TenantTx, id: UserId) -> StoreResult<Option<Credentials>> {
    let sql = format!("SELECT {CREDENTIAL_COLS} FROM users WHERE tenant_id = $1 AND id = $2");
    let q = tx.q(&sql).bind(id.as_text());
    credentials(tx.opt(q).await?)
}

fn credentials(row: Option<AnyRow>) -> StoreResult<Option<Credentials>> {
    row.map(|r| {
        Ok(Credentials {
            id: r.parse("id")?,
            password_hash: r.text("password_hash")?,
            is_active: r.flag("is_active")?,
            name: r.text("name")?,
            email: r.text("email")?,
        })
    })
    .transpose()
}

pub async fn get(tx: &mut TenantTx, id: UserId) -> StoreResult<User> {
    let sql = get_sql();
    let q = tx.q(&sql).bind(id.as_text());
    let row = tx.opt(q).await?.ok_or(StoreError::NotFound)?;
    let mut u = from_row(&row)?;
    u.roles = roles(tx, id).await?;
    u.branch_ids = branches(tx, id).await?;
    Ok(u)
}

pub async fn roles(tx: &mut TenantTx, id: UserId) -> StoreResult<Vec<Role>> {
    let q = tx.q(ROLES_SQL).bind(id.as_text());
    let mut out: Vec<Role> = tx
        .all(q)
        .await?
        .iter()
        .map(|r| r.parse("role"))
        .collect::<StoreResult<_>>()?;
    out.sort();
    Ok(out)
}

pub async fn branches(tx: &mut TenantTx, id: UserId) -> StoreResult<Vec<BranchId>> {
    let q = tx.q(BRANCHES_SQL).bind(id.as_text());
    tx.all(q)
        .await?
        .iter()
        .map(|r| r.parse("branch_id"))
        .collect()
}

/// Replace a user's roles.
pub async fn set_roles(tx: &mut TenantTx, id: UserId, roles: &[Role]) -> StoreResult<()> {
    let q = tx
        .q("DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2")
        .bind(id.as_text());
    tx.exec(q).await?;
    for r in roles {
        let q = tx
            .q("INSERT INTO user_roles (tenant_id, user_id, role) VALUES ($1, $2, $3)")
            .bind(id.as_text())
            .bind(r.as_str());
        tx.exec(q).await?;
    }
    Ok(())
}

/// Replace a user's branch memberships.
pub async fn set_branches(tx: &mut TenantTx, id: UserId, branches: &[BranchId]) -> StoreResult<()> {
    let q = tx
        .q("DELETE FROM user_branches WHERE tenant_id = $1 AND user_id = $2")
        .bind(id.as_text());
    tx.exec(q).await?;
    for b in branches {
        let q = tx
            .q("INSERT INTO user_branches (tenant_id, user_id, branch_id) VALUES ($1, $2, $3)")
            .bind(id.as_text())
            .bind(b.as_text());
        tx.exec(q).await?;
    }
    Ok(())
}

/// Filters of the staff list (all optional, combined with AND).
#[derive(Clone, Debug, Default)]
pub struct StaffFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Case-insensitive substring of name or email.
    pub text: Option<String>,
}

/// The WHERE clause of a filtered staff query, numbering its parameters
/// from `$first` (role, active, text), so the list and count queries share it.
fn staff_where(first: usize) -> String {
    let (r, a, t) = (first, first + 1, first + 2);
    format!(
        "tenant_id = $1 \
         AND (CAST(${r} AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM user_roles ur WHERE ur.tenant_id = users.tenant_id \
              AND ur.user_id = users.id AND ur.role = CAST(${r} AS TEXT))) \
         AND (CAST(${a} AS BIGINT) IS NULL OR is_active = CAST(${a} AS BIGINT)) \
         AND (CAST(${t} AS TEXT) IS NULL OR LOWER(name) LIKE CAST(${t} AS TEXT) ESCAPE '\\' \
              OR LOWER(email) LIKE CAST(${t} AS TEXT) ESCAPE '\\')"
    )
}

/// A LIKE pattern matching `text` anywhere, with wildcards escaped.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A page of users (with roles and branches), filtered, ordered by an
/// allow-listed column.
pub async fn list(
    tx: &mut TenantTx,
    filter: &StaffFilter,
    order: &str,
    desc: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<User>, u64)> {
    let dir = if desc { "DESC" } else { "ASC" };
    let role = filter.role.map(|r| r.as_str().to_owned());
    let active = filter.active.map(i64::from);
    let text = filter.text.as_deref().map(contains_pattern);
    let sql = format!(
        "SELECT {COLS} FROM users WHERE {} ORDER BY {order} {dir}, id LIMIT $2 OFFSET $3",
        staff_where(4)
    );
    let q = tx
        .q(&sql)
        .bind(limit)
        .bind(offset)
        .bind(role.clone())
        .bind(active)
        .bind(text.clone());
    let rows = tx.all(q).await?;
    let mut users: Vec<User> = rows.iter().map(from_row).collect::<StoreResult<_>>()?;
    attach_roles_and_branches(tx, &mut users).await?;
    let sql = format!("SELECT COUNT(*) AS n FROM users WHERE {}", staff_where(2));
    let q = tx.q(&sql).bind(role).bind(active).bind(text);
    let total = tx.one(q).await?.int("n")?;
    Ok((users, total.max(0) as u64))
}

/// Fill roles and branch memberships of a page of users with two queries
/// (not two per user): the tenant's memberships are few, so they are read
/// whole and matched in memory.
async fn attach_roles_and_branches(tx: &mut TenantTx, users: &mut [User]) -> StoreResult<()> {
    use std::collections::HashMap;
    if users.is_empty() {
        return Ok(());
    }
    let mut roles: HashMap<String, Vec<Role>> = HashMap::new();
    let q = tx.q("SELECT user_id, role FROM user_roles WHERE tenant_id = $1");
    for r in tx.all(q).await? {
        roles
            .entry(r.text("user_id")?)
            .or_default()
            .push(r.parse("role")?);
    }
    let mut branches: HashMap<String, Vec<BranchId>> = HashMap::new();
    let q = tx
        .q("SELECT user_id, branch_id FROM user_branches WHERE tenant_id = $1 ORDER BY branch_id");
    for r in tx.all(q).await? {
        branches
            .entry(r.text("user_id")?)
            .or_default()
            .push(r.parse("branch_id")?);
    }
    for u in users.iter_mut() {
        let key = u.id.as_text();
        let mut rs = roles.remove(&key).unwrap_or_default();
        rs.sort();
        u.roles = rs;
        u.branch_ids = branches.remove(&key).unwrap_or_default();
    }
    Ok(())
}

/// The active users with `role`: their ids and email addresses.
pub async fn with_role(tx: &mut TenantTx, role: Role) -> StoreResult<Vec<(UserId, String)>> {
    let q = tx
        .q("SELECT u.id, u.email FROM users u JOIN user_roles r ON r.tenant_id = u.tenant_id AND r.user_id = u.id \
            WHERE u.tenant_id = $1 AND r.role = $2 AND u.is_active = 1 ORDER BY u.email")
        .bind(role.as_str());
    tx.all(q)
        .await?
        .iter()
        .map(|r| Ok((r.parse("id")?, r.text("email")?)))
        .collect()
}
