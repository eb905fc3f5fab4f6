//! One gate for the text of every request, before any handler or database
//! sees it: the decoded query string, JSON bodies and url-encoded form
//! bodies are checked against the product's text rule
//! ([`text_problem`]: no control characters but tab and line breaks, no
//! text-direction overrides). A failure is a 422 naming the field (the API
//! envelope, or the error page for pages), never the value. Header values
//! need no check here: the HTTP parser already refuses control bytes in
//! them (an attachment's file name, sent in a header, is checked by the
//! service with the same rule). Multipart bodies carry files.

use crate::kit::error::ApiError;
use crate::kit::json::too_large;
use crate::WebState;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clinicos_app::AppError;
use clinicos_domain::kit::text::text_problem;
use clinicos_domain::kit::validate::FieldError;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The first field of `pairs` (url-encoded) whose name or value breaks
/// the rule: `(where, problem)`.
fn bad_pair(encoded: &[u8], place: &str) -> Option<(String, &'static str)> {
    form_urlencoded::parse(encoded).find_map(|(k, v)| {
        text_problem(&k)
            .or_else(|| text_problem(&v))
            .map(|p| (format!("{place}{k}"), p))
    })
}

/// The first string (key or value) of a JSON document that breaks the
/// rule, with its path (`emergency_contact.name`, `identifiers[0].value`).
fn bad_json(v: &Value, path: &mut String) -> Option<(String, &'static str)> {
    match v {
        Value::String(s) => text_problem(s).map(|p| (display(path), p)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = bad_json(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = text_problem(k)
                .map(|p| (display(path), p))
                .or_else(|| bad_json(item, path));
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

fn display(path: &str) -> String {
    if path.is_empty() {
        "body".into()
    } else {
        path.to_owned()
    }
}

/// Could this JSON text hold a refused character once decoded? Raw control
/// bytes are already invalid JSON; what remains is a `\u` escape or a
/// multi-byte sequence of C1 (`C2 80..9F`) or of the override ranges
/// (`E2 80 AA..AE`, `E2 81 A6..A9`). Most bodies have none and skip the
/// second parse.
fn may_hide_refused(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\\u") || bytes.iter().any(|b| *b == 0xC2 || *b == 0xE2)
}

/// Is `bytes` exactly one JSON document (whitespace around it allowed)?
fn one_json_document(bytes: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

fn refuse(api: bool, field: String, problem: &'static str) -> Response {
    if api {
        ApiError(AppError::Validation(vec![FieldError {
            field,
            message: problem.into(),
        }]))
        .into_response()
    } else {
        crate::kit::form::field_rejection(&field).into_response()
    }
}

/// The query parameters each API operation takes (method and route
/// template to names), from the OpenAPI document: a name outside its
/// operation's list is refused, so a misspelt filter or `sort` field is
/// never silently ignored.
#[derive(Clone, Default)]
pub struct KnownParams(Arc<HashMap<(Method, String), Vec<String>>>);

impl KnownParams {
    pub fn new(map: HashMap<(Method, String), Vec<String>>) -> KnownParams {
        KnownParams(Arc::new(map))
    }

    /// The first name in `query` the operation does not take.
    fn unknown(&self, method: &Method, route: &str, query: &str) -> Option<String> {
        let known = self.0.get(&(method.clone(), route.to_owned()))?;
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, _)| k.into_owned())
            .find(|k| !known.iter().any(|n| n == k))
    }
}

/// What the gate needs: the body limit and the operations' parameters.
#[derive(Clone)]
pub struct GuardState {
    pub web: WebState,
    pub params: KnownParams,
}

pub async fn input_guard(State(st): State<GuardState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    if let Some(q) = req.uri().query() {
        if let Some((field, problem)) = bad_pair(q.as_bytes(), "query.") {
            return refuse(api, field, problem);
        }
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned());
        if let Some(name) = route.and_then(|r| st.params.unknown(req.method(), &r, q)) {
            return ApiError(AppError::Validation(vec![FieldError {
                field: format!("query.{name}"),
                message: "is not a parameter of this operation".into(),
            }]))
            .into_response();
        }
    }
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json = kind.starts_with("application/json") || kind.contains("+json");
    let form = kind.starts_with("application/x-www-form-urlencoded");
    if !json && !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, st.web.config.body_limit).await else {
        return too_large();
    };
    let found = if form {
        bad_pair(&bytes, "")
    } else if bytes.is_empty() {
        None
    } else if !one_json_document(&bytes) {
        // Also on routes that read no body: a malformed body is never
        // silently accepted.
        return ApiError(AppError::BadRequest("the body is not valid JSON".into())).into_response();
    } else if may_hide_refused(&bytes) {
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| bad_json(&v, &mut String::new()))
    } else {
        None
    };
    if let Some((field, problem)) = found {
        return refuse(api, field, problem);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Option<String> {
        let v: Value = serde_json::from_str(text).unwrap();
        bad_json(&v, &mut String::new()).map(|(f, _)| f)
    }

    #[test]
    fn the_first_bad_string_is_named_by_its_path() {
        assert_eq!(json(r#"{"email":"a\u0000"}"#).as_deref(), Some("email"));
        assert_eq!(
            json(r#"{"ec":{"name":"x\u001b[2J"}}"#).as_deref(),
            Some("ec.name")
        );
        assert_eq!(
            json(r#"{"ids":[{"v":"ok"},{"v":"\u202e"}]}"#).as_deref(),
            Some("ids[1].v")
        );
        assert_eq!(json(r#"["\u0007"]"#).as_deref(), Some("[0]"));
        assert_eq!(json(r#""\u0007""#).as_deref(), Some("body"));
        assert_eq!(json(r#"{"notes":"two\nlines\tand tab"}"#), None);
    }

    #[test]
    fn queries_and_forms_are_decoded_before_the_check() {
        assert_eq!(
            bad_pair(b"q=%00", "query.").map(|(f, _)| f).as_deref(),
            Some("query.q")
        );
        assert!(bad_pair(b"city=Pune&q=ab%E2%80%AEcd", "").is_some());
        assert!(bad_pair(b"notes=a%0D%0Ab", "").is_none());
    }

    #[test]
    fn only_one_whole_json_document_passes() {
        assert!(one_json_document(b" {\"a\": [1, 2]}\n"));
        for bad in [&b"{"[..], b"{}xyz", b"{} {}", b"nul"] {
            assert!(
                !one_json_document(bad),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn plain_ascii_json_skips_the_second_parse() {
        assert!(!may_hide_refused(
            br#"{"given_name":"Meera","sex":"female"}"#
        ));
        assert!(may_hide_refused(br#"{"n":"\u0000"}"#));
        assert!(may_hide_refused("{\"n\":\"\u{202e}\"}".as_bytes()));
    }
}
