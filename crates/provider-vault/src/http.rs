//! A small Vault HTTP client on `reqwest` (rustls): request building, consistency headers and
//! error classification. It never logs or formats request bodies or tokens.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use secretsync_model::ProviderError;
use secretsync_provider_support::body::{BodyError, read_bounded};
use secretsync_provider_support::retry_after::parse_retry_after;
use secretsync_provider_support::{ReadLimits, SharedClock};
use url::Url;
use zeroize::Zeroizing;

const NAMESPACE_HEADER: &str = "x-vault-namespace";
const TOKEN_HEADER: &str = "x-vault-token";
const INDEX_HEADER: &str = "x-vault-index";
const INCONSISTENT_HEADER: &str = "x-vault-inconsistent";
/// Error bodies are read only this far (Vault's `errors` are short).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// TLS and header settings the HTTP client is built from.
pub(crate) struct HttpSettings {
    /// Server base URL.
    pub server: Url,
    /// Roots that replace the platform roots (store `caBundle`/`caProvider` + extra roots).
    pub only_roots_pem: Vec<Vec<u8>>,
    /// Roots added to the platform roots (extra roots without a store CA).
    pub merged_roots_pem: Vec<Vec<u8>>,
    /// Client certificate + key (PEM), for mTLS and cert auth.
    pub identity_pem: Option<Zeroizing<Vec<u8>>>,
    /// Extra headers from the store spec.
    pub headers: HeaderMap,
    /// Track and send `X-Vault-Index`.
    pub read_your_writes: bool,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Response size cap.
    pub limits: ReadLimits,
    /// For `Retry-After` dates.
    pub clock: SharedClock,
}

/// The HTTP side of one provider instance.
pub(crate) struct VaultHttp {
    client: reqwest::Client,
    server: Url,
    headers: HeaderMap,
    read_your_writes: bool,
    last_index: Mutex<Option<HeaderValue>>,
    limits: ReadLimits,
    clock: SharedClock,
}

/// One API call.
pub(crate) struct Call<'a> {
    /// HTTP method.
    pub method: Method,
    /// API path below `/v1/` (segments are escaped here).
    pub path: &'a str,
    /// Query parameters.
    pub query: Vec<(&'static str, String)>,
    /// Token to send.
    pub token: Option<&'a SecretString>,
    /// Namespace to send.
    pub namespace: Option<&'a str>,
    /// JSON body (may hold credentials; zeroized after sending).
    pub body: Option<Zeroizing<Vec<u8>>>,
}

impl<'a> Call<'a> {
    /// A call without body.
    pub fn new(method: Method, path: &'a str) -> Self {
        Call {
            method,
            path,
            query: Vec::new(),
            token: None,
            namespace: None,
            body: None,
        }
    }
}

/// A successful (2xx) response body, zeroized on drop.
pub(crate) struct Response {
    /// Body bytes.
    pub body: Zeroizing<Vec<u8>>,
}

/// Why a call failed, before it is given store/key context.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server answered with a non-success status.
    Status {
        /// The status.
        status: StatusCode,
        /// Vault's `errors` messages, sanitized.
        errors: String,
        /// `Retry-After`, for 429.
        retry_after: Option<Duration>,
    },
    /// The response body was larger than the cap.
    TooLarge {
        /// The cap.
        limits: ReadLimits,
    },
    /// No usable answer: connection refused, timeout, TLS failure.
    Transport {
        /// Description without URL query or body.
        message: String,
        /// The certificate was rejected (configuration problem, not an outage).
        tls: bool,
    },
}

impl Failure {
    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Failure::Status { status, .. } => Some(*status),
            Failure::Transport { .. } | Failure::TooLarge { .. } => None,
        }
    }

    /// Converts to the model error; `what` names the store, the operation, key and path.
    ///
    /// Only a KV answer of 404 means "this secret does not exist" (`NotFound`); a 404 naming
    /// no handler for the route is a mount that does not exist (a store misconfiguration).
    pub fn into_provider_error(self, what: &str) -> ProviderError {
        match self {
            Failure::TooLarge { limits } => limits.body_too_large(what),
            Failure::Status { status, errors, .. }
                if status == StatusCode::NOT_FOUND && is_routing_error(&errors) =>
            {
                ProviderError::InvalidStoreConfig(format!(
                    "{what}: HTTP 404: {errors} (no secrets engine or namespace there; check \
                     the store's path and namespace)"
                ))
            }
            Failure::Transport { message, tls: true } => ProviderError::InvalidStoreConfig(
                format!("{what}: TLS handshake failed ({message}); check caBundle/caProvider"),
            ),
            Failure::Transport {
                message,
                tls: false,
            } => ProviderError::Unavailable(format!("{what}: {message}")),
            Failure::Status {
                status,
                errors,
                retry_after,
            } => {
                let detail = if errors.is_empty() {
                    format!("HTTP {}", status.as_u16())
                } else {
                    format!("HTTP {}: {errors}", status.as_u16())
                };
                match status.as_u16() {
                    404 => ProviderError::NotFound(format!("{what}: {detail}")),
                    401 | 403 => ProviderError::PermissionDenied(format!("{what}: {detail}")),
                    429 => ProviderError::Throttled {
                        message: format!("{what}: {detail}"),
                        retry_after,
                    },
                    s if s >= 500 => ProviderError::Unavailable(format!("{what}: {detail}")),
                    _ => ProviderError::BadResponse(format!("{what}: {detail}")),
                }
            }
        }
    }
}

impl VaultHttp {
    /// Builds the client (no network I/O).
    pub fn new(settings: HttpSettings) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("secretsync/", env!("CARGO_PKG_VERSION")));
        if !settings.only_roots_pem.is_empty() {
            builder = builder.tls_certs_only(parse_roots(&settings.only_roots_pem)?);
        } else if !settings.merged_roots_pem.is_empty() {
            builder = builder.tls_certs_merge(parse_roots(&settings.merged_roots_pem)?);
        }
        if let Some(pem) = &settings.identity_pem {
            let identity = reqwest::Identity::from_pem(pem).map_err(|_| {
                "client certificate/key: expected a PEM certificate and PEM private key".to_string()
            })?;
            builder = builder.identity(identity);
        }
        let client = builder
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(VaultHttp {
            client,
            server: settings.server,
            headers: settings.headers,
            read_your_writes: settings.read_your_writes,
            last_index: Mutex::new(None),
            limits: settings.limits,
            clock: settings.clock,
        })
    }

    /// The URL of an API path (for messages; never carries a token).
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.server.clone();
        {
            // `server` was validated as a base URL in the constructor.
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.pop_if_empty().push("v1");
                for segment in path.split('/').filter(|s| !s.is_empty()) {
                    segments.push(segment);
                }
            }
        }
        // keep a trailing slash (LIST of a folder)
        if path.ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        url
    }

    /// Sends a call; 2xx bodies are returned, everything else is a [`Failure`].
    pub async fn send(&self, call: Call<'_>) -> Result<Response, Failure> {
        let url = self.url(call.path);
        let mut request = self
            .client
            .request(call.method.clone(), url)
            .headers(self.headers.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(ns) = call.namespace.filter(|n| !n.is_empty()) {
            let value = HeaderValue::from_str(ns).map_err(|_| Failure::Transport {
                message: "namespace is not a valid header value".into(),
                tls: false,
            })?;
            request = request.header(NAMESPACE_HEADER, value);
        }
        if let Some(token) = call.token {
            let mut value =
                HeaderValue::from_str(token.expose_secret()).map_err(|_| Failure::Transport {
                    message: "token is not a valid header value".into(),
                    tls: false,
                })?;
            value.set_sensitive(true);
            request = request.header(TOKEN_HEADER, value);
        }
        if self.read_your_writes
            && let Some(index) = self.last_index.lock().ok().and_then(|g| g.clone())
        {
            request = request.header(INDEX_HEADER, index);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = request.send().await.map_err(transport_failure)?;
        let status = response.status();
        if self.read_your_writes
            && let Some(index) = response.headers().get(INDEX_HEADER)
            && let Ok(mut guard) = self.last_index.lock()
        {
            *guard = Some(index.clone());
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.clock.now()));
        if status.is_success() {
            let body = read_bounded(response, self.limits.max_response_bytes)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge => Failure::TooLarge {
                        limits: self.limits,
                    },
                    BodyError::Transport(e) => transport_failure(e),
                })?;
            Ok(Response { body })
        } else {
            let errors = match read_bounded(response, MAX_ERROR_BODY).await {
                Ok(body) => vault_errors(&body),
                Err(BodyError::TooLarge) => String::new(),
                Err(BodyError::Transport(e)) => return Err(transport_failure(e)),
            };
            Err(Failure::Status {
                status,
                errors,
                retry_after,
            })
        }
    }
}

/// Builds the store's header map; `forward_inconsistent` adds `X-Vault-Inconsistent`.
pub(crate) fn header_map(
    headers: &std::collections::BTreeMap<String, String>,
    forward_inconsistent: bool,
) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("headers: {name:?} is not a valid HTTP header name"))?;
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| format!("headers.{name}: expected a valid HTTP header value"))?;
        value.set_sensitive(true);
        map.insert(header, value);
    }
    if forward_inconsistent {
        map.insert(
            INCONSISTENT_HEADER,
            HeaderValue::from_static("forward-active-node"),
        );
    }
    Ok(map)
}

fn parse_roots(pems: &[Vec<u8>]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut out = Vec::new();
    for pem in pems {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|_| "CA bundle: expected PEM certificates".to_string())?;
        if certs.is_empty() {
            return Err("CA bundle: expected PEM certificates, found none".into());
        }
        out.extend(certs);
    }
    Ok(out)
}

fn transport_failure(error: reqwest::Error) -> Failure {
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(e) = source {
        chain.push(e.to_string());
        source = e.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    let tls = lower.contains("certificate") || lower.contains("unknownissuer");
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    // reqwest includes the URL (path only; no credentials are ever put into URLs).
    Failure::Transport {
        message: format!("{kind}: {text}"),
        tls,
    }
}

/// A 404 about the route (no mount there, no such namespace), not about a secret.
fn is_routing_error(errors: &str) -> bool {
    errors.contains("no handler for route") || errors.contains("namespace not found")
}

/// Vault's `{"errors": [...]}` joined, single-line, bounded.
fn vault_errors(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<String>,
    }
    let Ok(parsed) = serde_json::from_slice::<Errors>(body) else {
        return String::new();
    };
    let joined = parsed
        .errors
        .iter()
        .flat_map(|e| e.split('\n'))
        .map(|l| l.trim().trim_start_matches("* ").trim())
        .filter(|l| !l.is_empty() && !l.ends_with("occurred:"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut bounded: String = joined.chars().take(300).collect();
    if bounded.len() < joined.len() {
        bounded.push('…');
    }
    bounded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_errors_are_flattened() {
        let body =
            br#"{"errors":["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]}"#;
        assert_eq!(vault_errors(body), "permission denied; invalid token");
        assert_eq!(vault_errors(br#"{"errors":[]}"#), "");
        assert_eq!(
            vault_errors(br#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#),
            "permission denied"
        );
        assert_eq!(vault_errors(b"not json"), "");
    }

    #[test]
    fn status_mapping() {
        let f = |code: u16| Failure::Status {
            status: StatusCode::from_u16(code).expect("valid code"),
            errors: String::new(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(f(404).into_provider_error("x").kind_label(), "NotFound");
        let no_mount = Failure::Status {
            status: StatusCode::NOT_FOUND,
            errors: "no handler for route \"kv9/data/a\". route entry not found.".into(),
            retry_after: None,
        };
        assert_eq!(
            no_mount.into_provider_error("x").kind_label(),
            "InvalidStoreConfig",
            "a missing mount is misconfiguration, not a missing secret"
        );
        assert_eq!(
            f(403).into_provider_error("x").kind_label(),
            "PermissionDenied"
        );
        let throttled = f(429).into_provider_error("x");
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(f(503).into_provider_error("x").kind_label(), "Unavailable");
        assert_eq!(f(400).into_provider_error("x").kind_label(), "BadResponse");
    }

    #[test]
    fn headers_are_validated() {
        let mut h = std::collections::BTreeMap::new();
        h.insert("X-Custom".to_string(), "v".to_string());
        let map = header_map(&h, true).expect("valid headers");
        assert_eq!(map.get("x-custom").map(|v| v.as_bytes()), Some(&b"v"[..]));
        assert!(map.get(INCONSISTENT_HEADER).is_some());
        h.insert("bad header".to_string(), "v".to_string());
        assert!(header_map(&h, false).is_err());
    }
}
