//! Form bodies of the pages. [`Form`] reads an
//! `application/x-www-form-urlencoded` body the way axum's does, but a body
//! it cannot read (a required field missing, a value of the wrong kind, the
//! wrong content type) answers with the site's error page in the user's
//! language, naming the field, rather than axum's plain-text rejection. It
//! never echoes a submitted value: it may be PHI.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::kit::i18n;

/// A form body (or, for GET, the query string).
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = FormRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let query = req.uri().query().unwrap_or("").to_owned();
            return parse(query.as_bytes()).map(Form);
        }
        let urlencoded = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !urlencoded {
            return Err(FormRejection {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: i18n::t(&crate::kit::scope::locale(), "error-form-unreadable"),
            });
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| FormRejection {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: i18n::t(&crate::kit::scope::locale(), "error-form-too-large"),
            })?;
        parse(&bytes).map(Form)
    }
}

/// The form's field a deserialisation error is about, if it says.
fn field_of(err: &serde_path_to_error::Error<serde_urlencoded::de::Error>) -> String {
    let msg = err.inner().to_string();
    if let Some(rest) = msg.strip_prefix("missing field `") {
        return rest.split('`').next().unwrap_or("").to_owned();
    }
    let path = err.path().to_string();
    if path == "." {
        String::new()
    } else {
        path
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FormRejection> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let locale = crate::kit::scope::locale();
        let field = field_of(&e);
        let msg = if field.is_empty() {
            i18n::t(&locale, "error-form-unreadable")
        } else {
            i18n::t_args(&locale, "error-form-field", &[("field", field)])
        };
        FormRejection {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: msg,
        }
    })
}

/// A 422 naming `field` of the submitted form (never its value).
pub(crate) fn field_rejection(field: &str) -> FormRejection {
    let locale = crate::kit::scope::locale();
    FormRejection {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        message: i18n::t_args(&locale, "error-form-field", &[("field", field.to_owned())]),
    }
}

/// Why a form body could not be read: rendered as the error page.
#[derive(Debug)]
pub struct FormRejection {
    status: StatusCode,
    message: String,
}

impl IntoResponse for FormRejection {
    fn into_response(self) -> Response {
        let locale = crate::kit::scope::locale();
        (
            self.status,
            Html(crate::kit::page::render_error_page(
                &locale,
                self.status.as_u16(),
                &self.message,
            )),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Reason {
        reason: String,
        minutes: u32,
    }

    fn field(body: &str) -> String {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(body.as_bytes()));
        let e = serde_path_to_error::deserialize::<_, Reason>(de).unwrap_err();
        field_of(&e)
    }

    #[test]
    fn a_missing_or_malformed_field_is_named_without_its_value() {
        assert_eq!(field("minutes=5"), "reason");
        assert_eq!(field("reason=x&minutes=many"), "minutes");
    }

    #[test]
    fn a_good_body_parses() {
        let r: Reason = parse(b"reason=fever&minutes=5").unwrap();
        assert_eq!((r.reason.as_str(), r.minutes), ("fever", 5));
    }
}
