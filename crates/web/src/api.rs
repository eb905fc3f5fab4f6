//! The JSON API. [`routes`] is the one list of every API route: each is
//! registered through `routes!`, which adds it to the router AND to the
//! OpenAPI document, so the two cannot drift (a test enumerates the built
//! router and compares).

use crate::governance::api::audit;
use crate::governance::api::policy as governance;
use crate::governance::api::security;
use crate::identity::api::account as me;
use crate::identity::api::auth;
use crate::identity::api::mfa;
use crate::identity::api::portal;
use crate::identity::api::security as staff_security;
use crate::messaging::api::outbox;
use crate::patients::api::attachments;
use crate::patients::api::erasure as patient_erasure;
use crate::patients::api::links as patient_family;
use crate::patients::api::merge as patient_merge;
use crate::patients::api::records as clinical_records;
use crate::patients::api::registry as patients;
use crate::patients::api::share_links;
use crate::patients::api::timeline as patient_timeline;
use crate::patients::api::update as patient_registry;
use crate::system;
use crate::tenancy::api::admin as org;
use crate::tenancy::api::operator;
use crate::WebState;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "ClinicOS API", description = "Clinic management and EMR. Success: {\"data\", \"meta\"}; failure: {\"error\": {code, message, details, request_id}}."),
    modifiers(&Security),
    tags((name = "auth"), (name = "me"), (name = "organisation"), (name = "staff"), (name = "operator"), (name = "audit"), (name = "patients"), (name = "portal"), (name = "policy"), (name = "security"), (name = "system"))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "portal",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "operator",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every API, health and metrics route, documented.
pub fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::mfa))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::forgot_password))
        .routes(routes!(auth::reset_password))
        .routes(routes!(me::get_me, me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::list_sessions))
        .routes(routes!(me::end_session))
        .routes(routes!(me::switch_branch))
        .routes(routes!(mfa::status))
        .routes(routes!(mfa::begin_totp))
        .routes(routes!(mfa::confirm_totp))
        .routes(routes!(mfa::disable_totp))
        .routes(routes!(staff_security::put_sign_in_security))
        .routes(routes!(staff_security::list_device_approvals))
        .routes(routes!(staff_security::approve_device))
        .routes(routes!(staff_security::deny_device))
        .routes(routes!(staff_security::list_staff_sessions))
        .routes(routes!(staff_security::revoke_staff_session))
        .routes(routes!(org::put_avatar))
        .routes(routes!(org::put_signature))
        .routes(routes!(org::get_tenant, org::update_tenant))
        .routes(routes!(org::get_logo, org::put_logo))
        .routes(routes!(org::export_tenant))
        .routes(routes!(patients::list_patients, patients::create_patient))
        .routes(routes!(
            patients::get_patient,
            patient_registry::update_patient
        ))
        .routes(routes!(patient_registry::identifier_kinds))
        .routes(routes!(patient_registry::deactivate_patient))
        .routes(routes!(patient_registry::reactivate_patient))
        .routes(routes!(patient_registry::mark_deceased))
        .routes(routes!(patients::export_patients))
        .routes(routes!(patients::get_care_team, patients::add_care_team))
        .routes(routes!(patients::remove_care_team))
        .routes(routes!(patients::get_history, patients::add_history))
        .routes(routes!(patients::update_history))
        .routes(routes!(
            attachments::upload_attachment,
            attachments::list_attachments
        ))
        .routes(routes!(attachments::download_attachment))
        .routes(routes!(
            patient_family::put_photo,
            patient_family::get_photo,
            patient_family::delete_photo
        ))
        .routes(routes!(
            patient_family::list_links,
            patient_family::add_link
        ))
        .routes(routes!(patient_family::delete_link))
        .routes(routes!(patient_family::put_link_consent))
        .routes(routes!(patient_merge::merge_patients))
        .routes(routes!(patient_merge::undo_merge))
        .routes(routes!(patient_erasure::erasure_check))
        .routes(routes!(
            patient_erasure::get_erasure,
            patient_erasure::erase_patient
        ))
        .routes(routes!(
            patient_erasure::list_legal_holds,
            patient_erasure::place_legal_hold
        ))
        .routes(routes!(patient_erasure::release_legal_hold))
        .routes(routes!(
            share_links::create_share_link,
            share_links::list_share_links
        ))
        .routes(routes!(share_links::revoke_share_link))
        .routes(routes!(share_links::use_share_link))
        .routes(routes!(
            clinical_records::list_allergies,
            clinical_records::add_allergy
        ))
        .routes(routes!(clinical_records::update_allergy))
        .routes(routes!(
            clinical_records::list_conditions,
            clinical_records::add_condition
        ))
        .routes(routes!(clinical_records::update_condition))
        .routes(routes!(
            clinical_records::list_medications,
            clinical_records::add_medication
        ))
        .routes(routes!(clinical_records::update_medication))
        .routes(routes!(patient_timeline::get_timeline))
        .routes(routes!(patient_timeline::export_record))
        .routes(routes!(patients::break_glass))
        .routes(routes!(portal::send_code))
        .routes(routes!(portal::verify_code))
        .routes(routes!(portal::me))
        .routes(routes!(patient_family::portal_dependants))
        .routes(routes!(patient_family::portal_dependant))
        .routes(routes!(portal::logout))
        .routes(routes!(governance::get_policy))
        .routes(routes!(
            governance::put_role_bundle,
            governance::reset_role_bundle
        ))
        .routes(routes!(governance::add_grant))
        .routes(routes!(governance::revoke_grant))
        .routes(routes!(governance::put_policy_settings))
        .routes(routes!(governance::list_break_glass))
        .routes(routes!(governance::review_break_glass))
        .routes(routes!(governance::end_break_glass))
        .routes(routes!(org::retention))
        .routes(routes!(org::list_branches, org::create_branch))
        .routes(routes!(org::get_branch, org::update_branch))
        .routes(routes!(org::list_staff, org::invite_staff))
        .routes(routes!(org::get_staff, org::update_staff))
        .routes(routes!(org::get_avatar))
        .routes(routes!(outbox::outbox))
        .routes(routes!(operator::login))
        .routes(routes!(operator::logout))
        .routes(routes!(operator::list_tenants, operator::create_tenant))
        .routes(routes!(operator::change_status))
        .routes(routes!(operator::list_regions, operator::add_region))
        .routes(routes!(operator::list_plans, operator::upsert_plan))
        .routes(routes!(system::health))
        .routes(routes!(system::live))
        .routes(routes!(system::ready))
        .routes(routes!(system::metrics))
        .routes(routes!(openapi))
        .routes(routes!(system::audit_public_key))
        .routes(routes!(audit::events))
        .routes(routes!(audit::events_csv))
        .routes(routes!(security::list_events))
        .routes(routes!(security::acknowledge_event))
        .routes(routes!(security::get_settings, security::put_settings))
}

/// The OpenAPI document (built from the same route list).
pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = routes().split_for_parts().1;
        crate::route_actions::annotate(&mut doc);
        crate::api_statuses::complete(&mut doc);
        doc
    })
    .clone()
}

/// This OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", responses((status = 200, content_type = "application/json", description = "OpenAPI 3.1 document")))]
pub async fn openapi() -> axum::response::Response {
    axum::response::IntoResponse::into_response(axum::Json(openapi_doc()))
}

#[cfg(test)]
mod tests {
    //! The OpenAPI document is a published contract: any change to it shows
    //! up as a diff against `docs/openapi.json`, reviewed like code.

    use std::path::PathBuf;

    fn snapshot_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
    }

    /// Compares the built document with the committed snapshot; run with
    /// `UPDATE_OPENAPI=1` to rewrite the snapshot after an intended change.
    #[test]
    fn openapi_document_matches_the_committed_snapshot() {
        let built = serde_json::to_string_pretty(&super::openapi_doc()).expect("serialise");
        let path = snapshot_path();
        if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &built).expect("write docs/openapi.json");
            return;
        }
        let committed = std::fs::read_to_string(&path).expect("read docs/openapi.json");
        assert!(
            built == committed,
            "the OpenAPI document changed; review the diff and rerun with UPDATE_OPENAPI=1 \
             if the change is intended (first difference near byte {})",
            built
                .bytes()
                .zip(committed.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(built.len().min(committed.len()))
        );
    }

    /// The common answers `api_statuses` adds are on every operation.
    #[test]
    fn every_operation_states_the_common_answers_and_paging_bounds() {
        let doc = serde_json::to_value(super::openapi_doc()).expect("json");
        let mut lists = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("item") {
                let answers = op["responses"].as_object().expect("responses");
                for status in ["400", "422", "429"] {
                    assert!(
                        answers.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                if secured {
                    assert!(answers.contains_key("401"), "{method} {path} lacks 401");
                }
                if op.get("requestBody").is_some() {
                    assert!(answers.contains_key("415"), "{method} {path} lacks 415");
                }
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().expect("name");
                    if p["in"] == "path" {
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path}: {name} is not in the path"
                        );
                    }
                    if p["in"] == "query" && p["name"] == "limit" {
                        lists += 1;
                        assert_eq!(p["schema"]["minimum"], 1, "{method} {path}");
                        assert_eq!(p["schema"]["maximum"], 100, "{method} {path}");
                    }
                }
            }
        }
        assert!(lists >= 3, "the paged lists were found");
    }
}
