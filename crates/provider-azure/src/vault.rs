//! A thin Key Vault REST client: the challenge handshake, bearer tokens from the
//! [`TokenCache`], bounded `429` retries and error mapping.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use secrecy::ExposeSecret;
use secretsync_model::ProviderError;
use serde_json::Value;
use url::Url;

use crate::auth::TokenCache;
use crate::http_util::{retry_after, transport_error};
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
pub(crate) fn map_error(status: StatusCode, body: &Value, what: &str) -> ProviderError {
    let (detail, disabled) = kv_error_detail(status, body);
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
        404 => ProviderError::NotFound(format!("{what} does not exist ({detail})")),
        429 => ProviderError::Throttled {
            message: format!("{what}: the vault kept throttling ({detail})"),
            retry_after: None,
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

    /// GETs a JSON document with a bearer token; retries once after a rejected token and up
    /// to `max_throttle_retries` times after `429`, honouring `Retry-After`.
    pub(crate) async fn get_json(&self, url: Url, what: &str) -> Result<Value, ProviderError> {
        self.ensure_challenge(&url, what).await?;
        let mut throttled = 0u32;
        let mut token_retried = false;
        loop {
            let token = self.tokens.token().await?;
            let response = self
                .http
                .get(url.clone())
                .bearer_auth(token.secret.expose_secret())
                .send()
                .await
                .map_err(|e| transport_error(what, &e))?;
            let status = response.status();
            if status.is_success() {
                return response.json::<Value>().await.map_err(|e| {
                    ProviderError::BadResponse(format!("{what}: the response is not JSON ({e})"))
                });
            }
            let wait = retry_after(response.headers());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            match status {
                StatusCode::UNAUTHORIZED if !token_retried => {
                    token_retried = true;
                    self.tokens.invalidate(token.generation);
                }
                StatusCode::TOO_MANY_REQUESTS if throttled < self.options.max_throttle_retries => {
                    throttled += 1;
                    let delay = wait
                        .unwrap_or(self.options.default_retry_after)
                        .min(self.options.max_retry_after);
                    tracing::info!(vault = %self.base, attempt = throttled, delay_ms = delay.as_millis() as u64, "Key Vault throttled the request; waiting");
                    tokio::time::sleep(delay).await;
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let (detail, _) = kv_error_detail(status, &body);
                    return Err(ProviderError::Throttled {
                        message: format!(
                            "{what}: still throttled after {throttled} retries ({detail})"
                        ),
                        retry_after: wait,
                    });
                }
                _ => return Err(map_error(status, &body, what)),
            }
        }
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
            "secret \"db\" in vault https://v/",
        );
        assert_eq!(e.kind_label(), "NotFound");
        assert!(
            e.to_string().contains("secret \"db\" in vault https://v/"),
            "{e}"
        );
        let forbidden = json!({"error": {"code": "Forbidden", "message": "no get permission", "innererror": {"code": "AccessDenied"}}});
        let e = map_error(StatusCode::FORBIDDEN, &forbidden, "secret \"db\"");
        assert_eq!(e.kind_label(), "PermissionDenied");
        assert!(e.to_string().contains("access denied"), "{e}");
        let disabled = json!({"error": {"code": "Forbidden", "message": "Operation get is not allowed on a disabled secret.", "innererror": {"code": "SecretDisabled"}}});
        let e = map_error(StatusCode::FORBIDDEN, &disabled, "secret \"db\"");
        assert!(e.to_string().contains("is disabled"), "{e}");
        assert_eq!(
            map_error(StatusCode::UNAUTHORIZED, &Value::Null, "x").kind_label(),
            "PermissionDenied"
        );
        assert!(map_error(StatusCode::SERVICE_UNAVAILABLE, &Value::Null, "x").is_transient());
    }
}
