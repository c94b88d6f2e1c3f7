//! HTTPS listener, request plumbing and routing to the vault, Entra and managed-identity handlers.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::jwt::TokenSigner;
use super::state::State;
use super::{entra, managed_identity, vault};

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Configuration fixed at start.
pub(crate) struct Config {
    /// Vault tenant (used in the challenge's `authorization` URL and checked in tokens).
    pub(crate) tenant_id: String,
    /// `https://127.0.0.1:{port}` (no trailing slash).
    pub(crate) base_url: String,
    /// The resource announced in the challenge and required as token audience.
    pub(crate) vault_resource: String,
    /// The `X-IDENTITY-HEADER` value the App Service style endpoint requires.
    pub(crate) identity_header: String,
}

/// State shared by all connections.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) signer: TokenSigner,
    pub(crate) state: Mutex<State>,
}

impl Shared {
    /// Locks the state, recovering from a poisoned mutex (a panicking test must not wedge others).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A buffered request.
pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Req {
    /// First query parameter with this name (case-sensitive, as the services are for most).
    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header as a string.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The scheme+authority the client used (`https://{Host}`), for ids and `nextLink`s.
    pub(crate) fn origin(&self, fallback: &str) -> String {
        match self.header("host") {
            Some(host) if !host.is_empty() => format!("https://{host}"),
            _ => fallback.to_string(),
        }
    }
}

/// A response under construction.
pub(crate) type Resp = Response<Full<Bytes>>;

/// A JSON response with the given status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        resp.headers_mut().insert("x-ms-request-id", id);
    }
    resp
}

/// An empty response with the given status.
pub(crate) fn empty_response(status: StatusCode) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

async fn buffer(req: http::Request<Incoming>) -> Result<Req, String> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading request body: {e}"))?
        .to_bytes();
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut headers = parts.headers;
    // HTTP/2 requests carry the authority in the URI instead of a Host header.
    if !headers.contains_key(header::HOST)
        && let Some(v) = parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        headers.insert(header::HOST, v);
    }
    Ok(Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query,
        headers,
        body,
    })
}

/// Routes one request.
pub(crate) fn route(shared: &Shared, req: &Req) -> Resp {
    let path = req.path.as_str();
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "secrets" | "deletedsecrets" | "keys" | "certificates" => vault::handle(shared, req),
        "metadata" if path == "/metadata/identity/oauth2/token" => {
            managed_identity::handle_imds(shared, req)
        }
        "msi" if path == "/msi/token" => managed_identity::handle_app_service(shared, req),
        _ => entra::handle(shared, req)
            .unwrap_or_else(|| json_response(StatusCode::NOT_FOUND, &serde_json::json!({
                "error": {"code": "NotFound", "message": format!("The Azure double has no route for {} {}", req.method, path)}
            }))),
    }
}

async fn serve_request(
    shared: Arc<Shared>,
    req: http::Request<Incoming>,
) -> Result<Resp, Infallible> {
    Ok(match buffer(req).await {
        Ok(req) => {
            let mut resp = route(&shared, &req);
            // Headers the services add to every response.
            let headers = resp.headers_mut();
            if let Some(id) = req.headers.get("x-ms-client-request-id") {
                headers.insert("x-ms-client-request-id", id.clone());
            }
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            headers.insert(header::EXPIRES, HeaderValue::from_static("-1"));
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000;includeSubDomains"),
            );
            resp
        }
        Err(message) => json_response(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": {"code": "BadRequest", "message": message}}),
        ),
    })
}

/// Accepts TLS connections until `shutdown` flips to true.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            // A failed handshake (e.g. a client that does not trust the CA) just drops the connection.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| serve_request(shared.clone(), req));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = conn => {}
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}
