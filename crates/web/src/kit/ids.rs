//! Ids in the request, parsed one way for every API route and page: the
//! path's parameters ([`InPath`]) and id headers ([`header_id`]).
//!
//! Invariants:
//! - An id is a UUID in either case; it reaches the services as its typed
//!   id, so it is stored and compared in the one stored form (lower case).
//! - Anything else is 400 `INVALID_ID` naming the parameter or header,
//!   never echoing the value: the JSON envelope under `/api/`, the error
//!   page elsewhere. A well-formed id that names nothing in the tenant is
//!   the service's 404.
//! - Words matched by a route (a role, a record kind, a share token) are
//!   path values too, read by the same extractor.

use crate::kit::error::ApiError;
use crate::kit::page::error_response;
use crate::kit::scope;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use clinicos_app::AppError;
use clinicos_domain::Role;

/// One value of the path, read from its text; `name` is the route's name
/// for it (what an error names).
pub trait PathValue: Sized {
    fn from_path(name: &str, value: &str) -> Result<Self, AppError>;
}

macro_rules! ids_in_paths {
    ($($id:ty),* $(,)?) => {
        $(
            impl PathValue for $id {
                fn from_path(name: &str, value: &str) -> Result<Self, AppError> {
                    value
                        .parse()
                        .map_err(|_| AppError::InvalidId(name.to_owned()))
                }
            }
        )*
    };
}

ids_in_paths!(uuid::Uuid);
clinicos_domain::every_id!(ids_in_paths);

/// A word the route matches (a record kind, a decision, a share token):
/// the handler decides what it means.
impl PathValue for String {
    fn from_path(_: &str, value: &str) -> Result<Self, AppError> {
        Ok(value.to_owned())
    }
}

impl PathValue for Role {
    fn from_path(_: &str, value: &str) -> Result<Self, AppError> {
        value
            .parse()
            .map_err(|_| AppError::BadRequest("the role in the path is not a role".into()))
    }
}

/// Every value of a route's path, in the route's order: one value, or a
/// tuple of them.
pub trait PathValues: Sized {
    fn from_params(params: &[(&str, &str)]) -> Result<Self, AppError>;
}

fn arity(params: &[(&str, &str)], n: usize) -> Result<(), AppError> {
    if params.len() == n {
        Ok(())
    } else {
        Err(AppError::Internal(format!(
            "the route has {} path parameters, the handler reads {n}",
            params.len()
        )))
    }
}

impl<T: PathValue> PathValues for T {
    fn from_params(params: &[(&str, &str)]) -> Result<Self, AppError> {
        arity(params, 1)?;
        T::from_path(params[0].0, params[0].1)
    }
}

impl<A: PathValue, B: PathValue> PathValues for (A, B) {
    fn from_params(params: &[(&str, &str)]) -> Result<Self, AppError> {
        arity(params, 2)?;
        Ok((
            A::from_path(params[0].0, params[0].1)?,
            B::from_path(params[1].0, params[1].1)?,
        ))
    }
}

impl<A: PathValue, B: PathValue, C: PathValue> PathValues for (A, B, C) {
    fn from_params(params: &[(&str, &str)]) -> Result<Self, AppError> {
        arity(params, 3)?;
        Ok((
            A::from_path(params[0].0, params[0].1)?,
            B::from_path(params[1].0, params[1].1)?,
            C::from_path(params[2].0, params[2].1)?,
        ))
    }
}

/// The path's values (`InPath<PatientId>`, `InPath<(PatientId, RecordId)>`),
/// for API routes and pages alike.
pub struct InPath<T>(pub T);

impl<T: PathValues, S: Send + Sync> FromRequestParts<S> for InPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let values = match RawPathParams::from_request_parts(parts, state).await {
            Ok(raw) => T::from_params(&raw.iter().collect::<Vec<_>>()),
            Err(_) => Err(AppError::BadRequest("the path is not valid UTF-8".into())),
        };
        values.map(InPath).map_err(|e| refuse(parts, e))
    }
}

/// The envelope for the API, the error page for a page.
fn refuse(parts: &Parts, e: AppError) -> Response {
    if parts.uri.path().starts_with("/api/") {
        ApiError(e).into_response()
    } else {
        error_response(&scope::locale(), e)
    }
}

/// An optional id header (`X-Visit-Id`): absent or blank is none; anything
/// but an id is 400 `INVALID_ID` naming the header.
pub fn header_id<T: PathValue>(headers: &HeaderMap, name: &str) -> Result<Option<T>, AppError> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    let text = v
        .to_str()
        .map_err(|_| AppError::InvalidId(name.to_owned()))?
        .trim();
    if text.is_empty() {
        return Ok(None);
    }
    T::from_path(name, text).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use clinicos_domain::{PatientId, RecordId, VisitId};

    #[test]
    fn ids_read_in_either_case_and_name_the_parameter_when_malformed() {
        let p = PatientId::new();
        let upper = p.as_text().to_uppercase();
        let read: (PatientId, String) =
            PathValues::from_params(&[("id", &upper), ("kind", "allergies")]).unwrap();
        assert_eq!(read, (p, "allergies".to_owned()));
        let bad = <(PatientId, RecordId)>::from_params(&[("id", &upper), ("entry", "abc")]);
        assert!(matches!(bad, Err(AppError::InvalidId(n)) if n == "entry"));
        assert!(matches!(
            PatientId::from_params(&[("id", "x"), ("entry", "y")]),
            Err(AppError::Internal(_))
        ));
    }

    #[test]
    fn an_id_header_is_optional_but_must_be_an_id() {
        let mut h = HeaderMap::new();
        assert_eq!(header_id::<VisitId>(&h, "X-Visit-Id").unwrap(), None);
        h.insert("x-visit-id", HeaderValue::from_static("  "));
        assert_eq!(header_id::<VisitId>(&h, "X-Visit-Id").unwrap(), None);
        h.insert("x-visit-id", HeaderValue::from_static("visit-7"));
        assert!(matches!(
            header_id::<VisitId>(&h, "X-Visit-Id"),
            Err(AppError::InvalidId(n)) if n == "X-Visit-Id"
        ));
        let v = VisitId::new();
        h.insert(
            "x-visit-id",
            HeaderValue::from_str(&v.as_text().to_uppercase()).unwrap(),
        );
        assert_eq!(header_id::<VisitId>(&h, "X-Visit-Id").unwrap(), Some(v));
    }
}
