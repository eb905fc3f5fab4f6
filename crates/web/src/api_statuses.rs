//! The answers every operation can give besides its own, added to the
//! OpenAPI document in one place so that it states every status a route
//! can answer: the input gate and the extractors (400 malformed id, query
//! or JSON; 422 a field that breaks the text rule or a validation), the
//! rate limits (429), authentication and the policy point on signed-in
//! routes (401, 403), and body handling on routes that read one (413,
//! 415). The paging bounds every list enforces (`page` from 1, `limit`
//! 1..=100) are stated on their parameters.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

/// `(status, description, when)`.
const ANSWERS: &[(&str, &str, When)] = &[
    (
        "400",
        "The request cannot be read: an id in the path that is not a UUID (INVALID_ID), or a query string or JSON body that does not parse.",
        When::Always,
    ),
    (
        "401",
        "No valid credential: sign in (or refresh the access token).",
        When::Secured,
    ),
    (
        "403",
        "Refused by the policy point, or the organisation is suspended (read-only), or two-step sign-in must be set up first.",
        When::Secured,
    ),
    (
        "413",
        "The request body is larger than the limit.",
        When::WithBody,
    ),
    (
        "415",
        "The body is not sent with its content type (application/json).",
        When::WithBody,
    ),
    (
        "422",
        "A field is invalid (named in `details`), including text with control characters or direction overrides.",
        When::Always,
    ),
    (
        "429",
        "Too many requests: wait for `Retry-After` seconds.",
        When::Always,
    ),
];

#[derive(Clone, Copy)]
enum When {
    Always,
    Secured,
    WithBody,
}

fn applies(when: When, op: &Operation) -> bool {
    match when {
        When::Always => true,
        When::Secured => op.security.as_ref().is_some_and(|s| !s.is_empty()),
        When::WithBody => op.request_body.is_some(),
    }
}

/// Add the missing common answers and the paging bounds to every operation.
pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            add_answers(op);
            place_query_parameters(path, op);
            bound_paging(op);
        }
    }
}

fn add_answers(op: &mut Operation) {
    for (status, description, when) in ANSWERS {
        if !applies(*when, op) || op.responses.responses.contains_key(*status) {
            continue;
        }
        let error = ResponseBuilder::new()
            .description(*description)
            .content(
                "application/json",
                Content::new(Some(RefOr::<Schema>::Ref(Ref::from_schema_name(
                    "ErrorBody",
                )))),
            )
            .build();
        op.responses
            .responses
            .insert((*status).to_owned(), RefOr::T(error));
    }
}

/// A parameter that is not in the path template is read from the query
/// string (the query structs' `IntoParams` derive says "path"); an
/// optional one (its schema admits null) is not required.
fn place_query_parameters(path: &str, op: &mut Operation) {
    for p in op.parameters.iter_mut().flatten() {
        if matches!(p.parameter_in, ParameterIn::Path) && !path.contains(&format!("{{{}}}", p.name))
        {
            p.parameter_in = ParameterIn::Query;
            let nullable = p
                .schema
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok())
                .is_some_and(|v| {
                    v["type"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|x| x == "null"))
                        || v["oneOf"]
                            .as_array()
                            .is_some_and(|o| o.iter().any(|x| x["type"] == "null"))
                });
            if nullable {
                p.required = utoipa::openapi::Required::False;
            }
        }
    }
}

fn bound_paging(op: &mut Operation) {
    for p in op.parameters.iter_mut().flatten() {
        if !matches!(p.parameter_in, ParameterIn::Query) {
            continue;
        }
        let (min, max) = match p.name.as_str() {
            "page" => (1, None),
            "limit" => (1, Some(100)),
            _ => continue,
        };
        if let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() {
            o.minimum = Some(utoipa::Number::UInt(min));
            o.maximum = max.map(utoipa::Number::UInt);
        }
    }
}
