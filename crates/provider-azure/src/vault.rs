//! A thin Key Vault REST client: the challenge handshake, bearer tokens from the
//! [`TokenCache`], bounded bodies and error mapping. It never waits: a throttled call is
//! `Throttled` with the vault's `Retry-After`, and the engine decides when to call again.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use secrecy::ExposeSecret;
use secretsync_model::ProviderError;
use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use crate::auth::TokenCache;
use crate::http_util::{send, transport_error};
use crate::options::AzureOptions;

/// The Key Vault data-plane API version used.
pub const API_VERSION: &str = "7.5";

/// Key Vault client for one vault and one identity.
pub(crate) struct KeyVaultClient {
    http: reqwest::Client,
    base: Url,
    resource: String,
    tokens: TokenCache,
    challenged: tokio::sync::OnceCell<()>,
    options: Arc<AzureOptions>,
}

/// `Bearer authorization="…", resource="…"` (or `scope="…"`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) authorization: Option<String>,
    pub(crate) resource: Option<String>,
}

/// Parses a `WWW-Authenticate: Bearer …` challenge.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let rest = header.trim().strip_prefix("Bearer")?.trim();
    let mut challenge = Challenge::default();
    for part in rest.split(',') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "authorization" | "authorization_uri" => challenge.authorization = Some(value),
            "resource" => challenge.resource = Some(value),
            "scope" if challenge.resource.is_none() => {
                challenge.resource = Some(value.trim_end_matches("/.default").to_string());
            }
            _ => {}
        }
    }
    Some(challenge)
}

fn kv_error_detail(status: StatusCode, body: &Value) -> (String, bool) {
    let code = body
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("");
    let inner = body
        .pointer("/error/innererror/code")
        .and_then(Value::as_str)
        .unwrap_or("");
    let message: String = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let disabled = [code, inner].iter().any(|c| c.ends_with("Disabled"));
    let codes = if inner.is_empty() {
        code.to_string()
    } else {
        format!("{code}/{inner}")
    };
    (
        format!("HTTP {} {codes}: {message}", status.as_u16()),
        disabled,
    )
}

/// Maps a Key Vault error response for `what` (e.g. `secret "db" in vault https://…`).
/// Only Key Vault's own "no such object" (`SecretNotFound`, `KeyNotFound`,
/// `CertificateNotFound`) is `NotFound`; a 404 without it (a wrong `vaultUrl` path, a proxy)
/// is not evidence that the secret is gone.
pub(crate) fn map_error(
    status: StatusCode,
    body: &Value,
    retry_after: Option<std::time::Duration>,
    what: &str,
) -> ProviderError {
    let (detail, disabled) = kv_error_detail(status, body);
    let object_missing = body
        .pointer("/error/code")
        .and_then(Value::as_str)
        .is_some_and(|c| matches!(c, "SecretNotFound" | "KeyNotFound" | "CertificateNotFound"));
    match status.as_u16() {
        401 => ProviderError::PermissionDenied(format!(
            "{what}: the vault rejected the access token ({detail})"
        )),
        403 if disabled => ProviderError::PermissionDenied(format!(
            "{what} is disabled; enable it in Key Vault to read it ({detail})"
        )),
        403 => ProviderError::PermissionDenied(format!(
            "{what}: access denied; grant the identity get/list permission on the vault ({detail})"
        )),
        404 if object_missing => {
            ProviderError::NotFound(format!("{what} does not exist ({detail})"))
        }
        404 => ProviderError::BadResponse(format!(
            "{what}: HTTP 404 without a Key Vault error ({detail}); check vaultUrl"
        )),
        429 => ProviderError::Throttled {
            message: format!("{what}: the vault is throttling ({detail})"),
            retry_after,
        },
        500..=599 => ProviderError::Unavailable(format!("{what}: {detail}")),
        _ => ProviderError::BadResponse(format!("{what}: {detail}")),
    }
}

impl KeyVaultClient {
    /// A client for the vault at `base` (https, trailing slash).
    pub(crate) fn new(
        http: reqwest::Client,
        base: Url,
        resource: String,
        tokens: TokenCache,
        options: Arc<AzureOptions>,
    ) -> Self {
        KeyVaultClient {
            http,
            base,
            resource,
            tokens,
            challenged: tokio::sync::OnceCell::new(),
            options,
        }
    }

    /// The vault URL.
    pub(crate) fn vault_url(&self) -> &str {
        self.base.as_str()
    }

    /// The token cache.
    pub(crate) fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// `{vault}/{collection}/{name}[/{version}]?api-version=…`, path segments escaped.
    pub(crate) fn object_url(&self, collection: &str, name: &str, version: Option<&str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(collection).push(name);
            if let Some(v) = version {
                segments.push(v);
            }
        }
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        url
    }

    /// `{vault}/secrets?maxresults=25&api-version=…`.
    pub(crate) fn list_url(&self, max_results: u32) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("secrets");
        }
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION)
            .append_pair("maxresults", &max_results.to_string());
        url
    }

    /// Accepts a `nextLink` only if it points at this vault (the token must not leave it).
    pub(crate) fn checked_next_link(&self, link: &str) -> Result<Url, ProviderError> {
        let url = Url::parse(link).map_err(|e| {
            ProviderError::BadResponse(format!("vault {}: unusable nextLink ({e})", self.base))
        })?;
        if url.scheme() != "https"
            || url.host_str() != self.base.host_str()
            || url.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(ProviderError::BadResponse(format!(
                "vault {}: nextLink points to another host ({}); refusing to send the token there",
                self.base,
                url.host_str().unwrap_or("")
            )));
        }
        Ok(url)
    }

    /// The first request goes without a token and must be answered with the `401` challenge,
    /// whose resource must be the store's Key Vault resource. Done once per client; concurrent
    /// first callers wait for it.
    async fn ensure_challenge(&self, url: &Url, what: &str) -> Result<(), ProviderError> {
        self.challenged
            .get_or_try_init(|| async {
                let response = self
                    .http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| transport_error(what, &e))?;
                if response.status() != StatusCode::UNAUTHORIZED {
                    return Ok(());
                }
                let header = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let Some(challenge) = parse_challenge(header) else {
                    return Err(ProviderError::BadResponse(format!(
                        "{what}: the vault answered 401 without a Bearer challenge; is {} a Key Vault?",
                        self.base
                    )));
                };
                if let Some(resource) = &challenge.resource
                    && resource.trim_end_matches('/') != self.resource
                {
                    return Err(ProviderError::InvalidStoreConfig(format!(
                        "{what}: the vault asks for tokens for resource {resource:?} but the store's cloud uses {:?}; set spec.provider.azurekv.environmentType or customCloudConfig.keyVaultEndpoint",
                        self.resource
                    )));
                }
                tracing::debug!(vault = %self.base, authorization = ?challenge.authorization, "Key Vault challenge accepted");
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// GETs a document with a bearer token (the body in a zeroizing buffer, at most the
    /// response size cap); retries once, at once, after a rejected token.
    pub(crate) async fn get(
        &self,
        url: Url,
        what: &str,
    ) -> Result<Zeroizing<Vec<u8>>, ProviderError> {
        self.call(reqwest::Method::GET, url, None, what).await
    }

    /// Sends `method` to `url` with a bearer token and an optional JSON `body` (PushSecret
    /// writes); the answer body as for [`get`](Self::get). Retries once, at once, after a
    /// rejected token.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<&[u8]>,
        what: &str,
    ) -> Result<Zeroizing<Vec<u8>>, ProviderError> {
        self.ensure_challenge(&url, what).await?;
        let mut token_retried = false;
        loop {
            let token = self.tokens.token().await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.value.expose_secret());
            if let Some(b) = body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.to_vec());
            }
            let reply = send(request, what, &self.options).await?;
            if reply.status.is_success() {
                return Ok(reply.body);
            }
            if reply.status == StatusCode::UNAUTHORIZED && !token_retried {
                token_retried = true;
                self.tokens.invalidate(token.generation);
                continue;
            }
            return Err(map_error(
                reply.status,
                &reply.json(),
                reply.retry_after,
                what,
            ));
        }
    }

    /// [`get`](Self::get) of a JSON document holding no secret value (listings, keys,
    /// certificates).
    pub(crate) async fn get_json(&self, url: Url, what: &str) -> Result<Value, ProviderError> {
        let body = self.get(url, what).await?;
        serde_json::from_slice(&body).map_err(|e| {
            ProviderError::BadResponse(format!("{what}: the response is not JSON ({e})"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn challenges_parse_resource_or_scope() {
        let c = parse_challenge(r#"Bearer authorization="https://login.microsoftonline.com/t1", resource="https://vault.azure.net""#).expect("challenge");
        assert_eq!(
            c.authorization.as_deref(),
            Some("https://login.microsoftonline.com/t1")
        );
        assert_eq!(c.resource.as_deref(), Some("https://vault.azure.net"));
        let c = parse_challenge(
            r#"Bearer authorization="https://a/t", scope="https://vault.azure.net/.default""#,
        )
        .expect("challenge");
        assert_eq!(c.resource.as_deref(), Some("https://vault.azure.net"));
        assert!(parse_challenge("Basic realm=x").is_none());
    }

    #[test]
    fn errors_name_the_object_and_map_statuses() {
        let body = json!({"error": {"code": "SecretNotFound", "message": "A secret with (name/id) db was not found in this key vault."}});
        let e = map_error(
            StatusCode::NOT_FOUND,
            &body,
            None,
            "secret \"db\" in vault https://v/",
        );
        assert_eq!(e.kind_label(), "NotFound");
        assert!(
            e.to_string().contains("secret \"db\" in vault https://v/"),
            "{e}"
        );
        let forbidden = json!({"error": {"code": "Forbidden", "message": "no get permission", "innererror": {"code": "AccessDenied"}}});
        let e = map_error(StatusCode::FORBIDDEN, &forbidden, None, "secret \"db\"");
        assert_eq!(e.kind_label(), "PermissionDenied");
        assert!(e.to_string().contains("access denied"), "{e}");
        let disabled = json!({"error": {"code": "Forbidden", "message": "Operation get is not allowed on a disabled secret.", "innererror": {"code": "SecretDisabled"}}});
        let e = map_error(StatusCode::FORBIDDEN, &disabled, None, "secret \"db\"");
        assert!(e.to_string().contains("is disabled"), "{e}");
        assert_eq!(
            map_error(StatusCode::UNAUTHORIZED, &Value::Null, None, "x").kind_label(),
            "PermissionDenied"
        );
        assert!(map_error(StatusCode::SERVICE_UNAVAILABLE, &Value::Null, None, "x").is_transient());
    }

    #[test]
    fn only_key_vaults_own_not_found_is_not_found() {
        let code = |c: &str| json!({"error": {"code": c, "message": "m"}});
        let wait = Some(std::time::Duration::from_secs(4));
        let cases = [
            (404, code("SecretNotFound"), "NotFound"),
            (404, code("KeyNotFound"), "NotFound"),
            (404, code("CertificateNotFound"), "NotFound"),
            (404, Value::Null, "BadResponse"),
            (404, code("NotFound"), "BadResponse"),
            (401, Value::Null, "PermissionDenied"),
            (403, code("Forbidden"), "PermissionDenied"),
            (429, code("Throttled"), "Throttled"),
            (500, Value::Null, "Unavailable"),
            (400, code("BadParameter"), "BadResponse"),
        ];
        for (status, body, kind) in cases {
            let status = StatusCode::from_u16(status).expect("status");
            let e = map_error(status, &body, wait, "secret \"db\"");
            assert_eq!(e.kind_label(), kind, "{status} {body}: {e}");
        }
        let throttled = map_error(StatusCode::TOO_MANY_REQUESTS, &Value::Null, wait, "x");
        assert_eq!(throttled.retry_after(), wait);
    }
}
