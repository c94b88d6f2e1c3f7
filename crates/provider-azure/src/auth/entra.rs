//! The Entra ID v2.0 token endpoint (`client_credentials` grant) for client secrets, certificate
//! assertions and federated (workload identity) assertions.

use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use secretsync_model::ProviderError;
use serde::Deserialize;
use serde_json::Value;

use super::{IssuedToken, seconds_field, short_description};
use crate::http_util::{Reply, send};
use crate::options::AzureOptions;

/// `client_assertion_type` of JWT bearer assertions.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the client proves its identity.
pub(crate) enum ClientProof<'a> {
    /// A client secret.
    Secret(&'a SecretString),
    /// A signed JWT (certificate assertion or federated ServiceAccount token).
    Assertion(&'a SecretString),
}

/// Identifies the request in errors (no secrets).
pub(crate) struct TokenRequestLabel<'a> {
    /// `client secret`, `certificate assertion`, `federated token`.
    pub(crate) credential: &'a str,
    /// App (client) id.
    pub(crate) client_id: &'a str,
    /// Tenant id.
    pub(crate) tenant_id: &'a str,
}

/// Posts a `client_credentials` request and returns the access token.
pub(crate) async fn client_credentials(
    http: &reqwest::Client,
    options: &AzureOptions,
    token_endpoint: &str,
    scope: &str,
    proof: ClientProof<'_>,
    label: &TokenRequestLabel<'_>,
) -> Result<IssuedToken, ProviderError> {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "client_credentials"),
        ("client_id", label.client_id),
        ("scope", scope),
    ];
    match &proof {
        ClientProof::Secret(s) => form.push(("client_secret", s.expose_secret())),
        ClientProof::Assertion(a) => {
            form.push(("client_assertion_type", JWT_BEARER));
            form.push(("client_assertion", a.expose_secret()));
        }
    }
    let what = format!(
        "Entra ID token request ({} of client {:?} in tenant {:?} at {token_endpoint})",
        label.credential, label.client_id, label.tenant_id
    );
    let reply = send(http.post(token_endpoint).form(&form), &what, options).await?;
    token_from_reply(&reply, options, &what)
}

/// The token of an issuer's answer, or the error it stands for.
pub(crate) fn token_from_reply(
    reply: &Reply,
    options: &AzureOptions,
    what: &str,
) -> Result<IssuedToken, ProviderError> {
    if reply.status.is_success() {
        return parse_token(&reply.body, options.clock.now(), what);
    }
    Err(token_error(
        reply.status,
        &reply.json(),
        reply.retry_after,
        what,
    ))
}

/// Reads `{access_token, expires_in}` (or `expires_on`, Unix seconds) of a token response.
/// The token goes straight from the (zeroizing) body into a `SecretString`.
pub(crate) fn parse_token(
    body: &[u8],
    now: SystemTime,
    what: &str,
) -> Result<IssuedToken, ProviderError> {
    #[derive(Deserialize)]
    struct TokenResponse {
        access_token: Option<SecretString>,
        expires_in: Option<Value>,
        expires_on: Option<Value>,
    }
    let response: TokenResponse = serde_json::from_slice(body).map_err(|_| {
        ProviderError::BadResponse(format!("{what}: the token response is not JSON"))
    })?;
    let token = response
        .access_token
        .filter(|t| !t.expose_secret().is_empty())
        .ok_or_else(|| {
            ProviderError::BadResponse(format!("{what}: no access_token in the response"))
        })?;
    let expires_in = seconds_field(response.expires_in.as_ref())
        .or_else(|| {
            let on = seconds_field(response.expires_on.as_ref())?;
            let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
            Some(on.saturating_sub(now))
        })
        .ok_or_else(|| {
            ProviderError::BadResponse(format!("{what}: no expires_in in the response"))
        })?;
    Ok(IssuedToken {
        secret: token,
        expires_in: Duration::from_secs(expires_in),
    })
}

/// Maps an issuer's error response.
pub(crate) fn token_error(
    status: reqwest::StatusCode,
    body: &Value,
    wait: Option<Duration>,
    what: &str,
) -> ProviderError {
    let error = body.get("error").and_then(Value::as_str).unwrap_or("");
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .map(short_description)
        .unwrap_or_default();
    let detail = format!("HTTP {} {error}: {description}", status.as_u16());
    match status.as_u16() {
        400 | 401 | 403 => {
            ProviderError::PermissionDenied(format!("{what} was rejected: {detail}"))
        }
        404 => ProviderError::InvalidStoreConfig(format!(
            "{what}: the endpoint does not exist ({detail}); check the tenant and the cloud configuration"
        )),
        429 => ProviderError::Throttled {
            message: format!("{what}: {detail}"),
            retry_after: wait,
        },
        500..=599 => ProviderError::Unavailable(format!("{what}: {detail}")),
        _ => ProviderError::BadResponse(format!("{what}: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_parse_with_numeric_string_or_absolute_lifetimes() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_000);
        let parse = |v: Value| parse_token(v.to_string().as_bytes(), now, "t");
        let t = parse(serde_json::json!({"access_token": "abc", "expires_in": 60})).expect("token");
        assert_eq!(t.secret.expose_secret(), "abc");
        assert_eq!(t.expires_in, Duration::from_secs(60));
        let t =
            parse(serde_json::json!({"access_token": "abc", "expires_in": "120"})).expect("token");
        assert_eq!(t.expires_in, Duration::from_secs(120));
        let t =
            parse(serde_json::json!({"access_token": "abc", "expires_on": "1300"})).expect("token");
        assert_eq!(
            t.expires_in,
            Duration::from_secs(300),
            "expires_on against the clock"
        );
        assert!(parse(serde_json::json!({"expires_in": 1})).is_err());
        assert!(parse(serde_json::json!({"access_token": "", "expires_in": 1})).is_err());
        assert!(parse_token(b"<html>", now, "t").is_err());
    }

    #[test]
    fn issuer_errors_map_to_the_taxonomy() {
        let body = serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided. Trace ID: 1"});
        let e = token_error(reqwest::StatusCode::UNAUTHORIZED, &body, None, "req");
        assert_eq!(e.kind_label(), "PermissionDenied");
        assert!(e.to_string().contains("AADSTS7000215"), "{e}");
        assert!(!e.to_string().contains("Trace ID"), "{e}");
        let e = token_error(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            &body,
            Some(Duration::from_secs(3)),
            "req",
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = token_error(reqwest::StatusCode::BAD_GATEWAY, &Value::Null, None, "req");
        assert!(e.is_transient());
    }
}
