//! Router assembly and the HTTP server: layers in request order, body
//! limits, timeouts, panic catching, graceful shutdown, optional TLS
//! (rustls, configurable minimum version).

use crate::kit::error::ApiError;
use crate::kit::input_guard::{GuardState, KnownParams};
use crate::kit::rate_limit::{rate_limit, Limiter, RateState};
use crate::{api, kit::middleware as mw, pages, WebState};
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use clinicos_app::AppError;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

/// TLS settings (certificate chain and key in PEM).
#[derive(Clone, Debug)]
pub struct TlsOptions {
    pub cert_path: std::path::PathBuf,
    pub key_path: std::path::PathBuf,
    /// "1.2" or "1.3".
    pub min_version: String,
}

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    pub tls: Option<TlsOptions>,
}

/// Unrouted paths: the JSON envelope under `/api/`, an HTML page elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError(AppError::NotFound("route")).into_response()
    } else {
        crate::kit::page::not_found().await
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    // Never echo the panic message: it may hold data.
    tracing::error!("handler panicked");
    let body = serde_json::json!({"error": {"code": "INTERNAL_ERROR", "message": "internal error", "details": [], "request_id": crate::kit::scope::request_id()}});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// The query parameters of every API operation, as documented.
fn query_params() -> KnownParams {
    use utoipa::openapi::path::ParameterIn;
    let doc = api::openapi_doc();
    let mut map = std::collections::HashMap::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            (axum::http::Method::GET, item.get.as_ref()),
            (axum::http::Method::POST, item.post.as_ref()),
            (axum::http::Method::PUT, item.put.as_ref()),
            (axum::http::Method::PATCH, item.patch.as_ref()),
            (axum::http::Method::DELETE, item.delete.as_ref()),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let names = op
                .parameters
                .iter()
                .flatten()
                .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
                .map(|p| p.name.clone())
                .collect();
            map.insert((method, path.clone()), names);
        }
    }
    KnownParams::new(map)
}

/// The whole application router.
pub fn build_router(state: WebState) -> Router {
    // Install the metrics recorder before the first request is counted.
    let _ = crate::kit::metrics::handle();
    let (api_router, _doc) = api::routes().split_for_parts();
    let uploads = state.config.upload_limit;
    let api_router = api_router.method_not_allowed_fallback(|| async {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            ApiError(AppError::BadRequest(
                "this method is not allowed on this route".into(),
            ))
            .into_response()
            .into_body(),
        )
    });
    Router::new()
        .merge(api_router)
        .merge(pages::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.config.body_limit.max(uploads)))
        .layer(axum::middleware::from_fn_with_state(
            GuardState {
                web: state.clone(),
                params: query_params(),
            },
            crate::kit::input_guard::input_guard,
        ))
        .layer(axum::middleware::from_fn(mw::csrf))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mw::csrf_cookie,
        ))
        .layer(axum::middleware::from_fn_with_state(
            RateState {
                web: state.clone(),
                limiter: std::sync::Arc::new(Limiter::default()),
            },
            rate_limit,
        ))
        .layer(axum::middleware::from_fn(mw::observe))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(mw::security_headers))
        .layer(axum::middleware::from_fn(mw::request_scope))
        .with_state(state)
}

/// Serve until Ctrl-C / SIGTERM, then finish in-flight requests.
pub async fn serve(
    state: WebState,
    opts: ServeOptions,
    ready: impl FnOnce(SocketAddr),
) -> anyhow_like::Result<()> {
    let app = build_router(state).into_make_service_with_connect_info::<SocketAddr>();
    let signal = shutdown_signal();
    match opts.tls {
        None => {
            let listener = tokio::net::TcpListener::bind(opts.bind)
                .await
                .map_err(|e| bind_error(opts.bind, e))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            ready(addr);
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
                .map_err(|e| e.to_string())?;
        }
        Some(tls) => {
            let config = rustls_config(&tls)?;
            let handle = axum_server::Handle::new();
            let h2 = handle.clone();
            tokio::spawn(async move {
                signal.await;
                h2.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            let std_listener =
                std::net::TcpListener::bind(opts.bind).map_err(|e| bind_error(opts.bind, e))?;
            std_listener
                .set_nonblocking(true)
                .map_err(|e| e.to_string())?;
            let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
            ready(addr);
            axum_server::from_tcp_rustls(std_listener, config)
                .handle(handle)
                .serve(app)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        format!("cannot listen on {addr}: the port is already in use (choose another with --bind)")
    } else {
        format!("cannot listen on {addr}: {e}")
    }
}

fn rustls_config(tls: &TlsOptions) -> anyhow_like::Result<axum_server::tls_rustls::RustlsConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let versions: &[&rustls::SupportedProtocolVersion] = match tls.min_version.as_str() {
        "1.3" => &[&rustls::version::TLS13],
        "1.2" => &[&rustls::version::TLS13, &rustls::version::TLS12],
        other => {
            return Err(format!(
                "tls minimum version must be 1.2 or 1.3, not '{other}'"
            ))
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_path)
        .map_err(|e| {
            format!(
                "cannot read TLS certificate {}: {e}",
                tls.cert_path.display()
            )
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad TLS certificate {}: {e}", tls.cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_path)
        .map_err(|e| format!("cannot read TLS key {}: {e}", tls.key_path.display()))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate and key do not match: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        std::sync::Arc::new(cfg),
    ))
}

/// Install the SIGTERM and Ctrl-C handlers now, before the port opens (a
/// signal that arrives as soon as it is open is then a graceful shutdown,
/// not the default kill), and return what completes on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut term, mut int) = handlers;
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(term.take()) => {}, _ = wait(int.take()) => {} }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

/// Errors of `serve` are one-line messages for the CLI.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
}
