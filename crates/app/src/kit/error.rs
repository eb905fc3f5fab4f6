//! The application error: one enum, converted once at the edge into the
//! JSON envelope or an error page. Codes are stable API values and double
//! as translation keys; messages never carry PHI or secrets.

use clinicos_domain::kit::validate::FieldError;
use clinicos_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    /// An id in the path or a header is not an id (a UUID); names the
    /// parameter, never its value.
    #[error("{0} is not a valid id")]
    InvalidId(String),
    #[error("sign-in failed: the clinic, email or password is wrong")]
    InvalidCredentials,
    #[error("authentication required")]
    Unauthenticated,
    #[error("the sign-in code is wrong or was already used")]
    InvalidMfaCode,
    /// Portal sign-in: one answer for a wrong, expired, used or unknown code.
    #[error("the code is wrong, expired or already used; ask for a new one")]
    InvalidOtp,
    #[error("set up two-step sign-in (an authenticator app) before continuing")]
    MfaEnrolmentRequired,
    /// Carries the device id the client must present again once approved
    /// (issued by the server when the client had none).
    #[error("this device is waiting for an administrator's approval")]
    DeviceApprovalPending { device_id: String },
    #[error("an administrator has refused sign-in from this device")]
    DeviceDenied,
    #[error("the session has expired; sign in again")]
    SessionExpired,
    #[error("you do not have permission to {0}")]
    Forbidden(String),
    #[error("this organisation is read-only while its subscription is suspended")]
    TenantReadOnly,
    #[error("this account is locked after repeated failed sign-ins; try again later or reset the password")]
    Locked { retry_after_secs: u64 },
    #[error("too many requests; slow down")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Registration matched existing active patients (their ids, no PHI).
    #[error("a patient with the same phone and birth date or the same identifier exists")]
    DuplicatePatient(Vec<String>),
    #[error("the service is busy; try again")]
    Busy,
    /// A virus scanner is configured but gave no verdict (unreachable,
    /// timed out): the upload is refused rather than stored unscanned.
    #[error("the virus scanner is unavailable; the file was not stored, try again later")]
    ScannerUnavailable,
    /// A share link that existed but has expired or was revoked.
    #[error("this share link has expired or was revoked")]
    ShareLinkGone,
    /// A patient record that was erased: only its tombstone remains.
    #[error("this patient record was erased")]
    PatientErased,
    /// Erasure refused: a legal hold (`LEGAL_HOLD`) or a retention period
    /// of the tenant's jurisdiction (`RETENTION_APPLIES`) still applies.
    #[error("{message}")]
    ErasureRefused { code: &'static str, message: String },
    #[error("internal error")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "VALIDATION_ERROR",
            AppError::BadRequest(_) => "INVALID_INPUT",
            AppError::InvalidId(_) => "INVALID_ID",
            AppError::InvalidCredentials => "INVALID_CREDENTIALS",
            AppError::Unauthenticated => "UNAUTHORIZED",
            AppError::InvalidMfaCode => "INVALID_MFA_CODE",
            AppError::InvalidOtp => "INVALID_OTP",
            AppError::MfaEnrolmentRequired => "MFA_ENROLMENT_REQUIRED",
            AppError::DeviceApprovalPending { .. } => "DEVICE_APPROVAL_PENDING",
            AppError::DeviceDenied => "DEVICE_DENIED",
            AppError::SessionExpired => "TOKEN_EXPIRED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::TenantReadOnly => "TENANT_READ_ONLY",
            AppError::Locked { .. } => "ACCOUNT_LOCKED",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::DuplicatePatient(_) => "DUPLICATE_PATIENT",
            AppError::Busy => "SERVICE_BUSY",
            AppError::ScannerUnavailable => "SCANNER_UNAVAILABLE",
            AppError::ShareLinkGone => "SHARE_LINK_GONE",
            AppError::PatientErased => "PATIENT_ERASED",
            AppError::ErasureRefused { code, .. } => code,
            AppError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation(_) => 422,
            AppError::BadRequest(_) | AppError::InvalidId(_) => 400,
            AppError::InvalidCredentials
            | AppError::Unauthenticated
            | AppError::SessionExpired
            | AppError::InvalidMfaCode
            | AppError::InvalidOtp => 401,
            AppError::Forbidden(_)
            | AppError::TenantReadOnly
            | AppError::MfaEnrolmentRequired
            | AppError::DeviceApprovalPending { .. }
            | AppError::DeviceDenied => 403,
            AppError::Locked { .. } | AppError::RateLimited { .. } => 429,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_)
            | AppError::DuplicatePatient(_)
            | AppError::ErasureRefused { .. } => 409,
            AppError::Busy | AppError::ScannerUnavailable => 503,
            AppError::ShareLinkGone | AppError::PatientErased => 410,
            AppError::Internal(_) => 500,
        }
    }

    /// The one-line reason shown to an operator at the command line (the
    /// CLI and `clinicos bench`): every field error of a validation
    /// failure, and the detail of an internal error, which names what is
    /// wrong (never PHI or keys); otherwise the message.
    pub fn operator_message(self) -> String {
        match self {
            AppError::Validation(v) => v
                .iter()
                .map(|f| format!("{} {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            AppError::Internal(detail) => detail,
            other => other.to_string(),
        }
    }

    pub fn field(field: &str, message: &str) -> Self {
        AppError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

impl From<Vec<FieldError>> for AppError {
    fn from(v: Vec<FieldError>) -> Self {
        AppError::Validation(v)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound("record"),
            StoreError::Duplicate(what) => AppError::Conflict(format!(
                "a record with the same unique value already exists ({what})"
            )),
            StoreError::ForeignKey => {
                AppError::BadRequest("a referenced record does not exist".into())
            }
            StoreError::Busy => AppError::Busy,
            StoreError::UnknownTenant => AppError::Unauthenticated,
            other => AppError::Internal(other.to_string()),
        }
    }
}
