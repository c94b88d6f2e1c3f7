//! The HTTP client (rustls, extra roots, timeouts, no redirects) and one way to send a request:
//! bodies read with the size cap into zeroizing buffers, `Retry-After` parsed.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use secretsync_model::ProviderError;
use secretsync_provider_support::body::{BodyError, read_bounded};
use secretsync_provider_support::retry_after::parse_retry_after;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::options::AzureOptions;

/// Error bodies are read only this far (Azure's error documents are short).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An HTTP answer: status, `Retry-After`, and the body (zeroized on drop).
pub(crate) struct Reply {
    /// The status.
    pub(crate) status: StatusCode,
    /// `Retry-After`, seconds or date.
    pub(crate) retry_after: Option<Duration>,
    /// The body (for error statuses: its first 64 KiB, or nothing when longer).
    pub(crate) body: Zeroizing<Vec<u8>>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON): for error documents and listings,
    /// never for secret values (which are parsed from [`body`](Self::body) directly).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `request`; the body of a success is read up to `options.limits.max_response_bytes`
/// (a longer one fails the call naming the limit), an error body up to 64 KiB.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    what: &str,
    options: &AzureOptions,
) -> Result<Reply, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(what, &e))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, options.clock.now()));
    let limit = if status.is_success() {
        options.limits.max_response_bytes
    } else {
        MAX_ERROR_BODY
    };
    let body = match read_bounded(response, limit).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) if status.is_success() => {
            return Err(options.limits.body_too_large(what));
        }
        Err(BodyError::TooLarge) => Zeroizing::new(Vec::new()),
        Err(BodyError::Transport(e)) => return Err(transport_error(what, &e)),
    };
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

/// Builds the provider's HTTP client.
pub(crate) fn build_client(options: &AzureOptions) -> Result<reqwest::Client, ProviderError> {
    let mut roots = Vec::new();
    for (index, pem) in options.extra_root_certificates_pem.iter().enumerate() {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
            ProviderError::InvalidStoreConfig(format!(
                "Azure options: extra root CA certificate #{index}: expected PEM certificates ({e})"
            ))
        })?;
        if certs.is_empty() {
            return Err(ProviderError::InvalidStoreConfig(format!(
                "Azure options: extra root CA certificate #{index}: expected at least one PEM CERTIFICATE block"
            )));
        }
        roots.extend(certs);
    }
    let mut builder = reqwest::Client::builder()
        .timeout(options.request_timeout)
        .connect_timeout(options.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "secretsync-provider-azure/",
            env!("CARGO_PKG_VERSION")
        ));
    if !roots.is_empty() {
        builder = builder.tls_certs_merge(roots);
    }
    builder.build().map_err(|e| {
        ProviderError::InvalidStoreConfig(format!(
            "Azure provider: building the HTTP client failed: {}",
            error_chain(&e)
        ))
    })
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// A request that got no HTTP response (connect, TLS, timeout).
pub(crate) fn transport_error(what: &str, error: &reqwest::Error) -> ProviderError {
    ProviderError::Unavailable(format!("{what}: {}", error_chain(error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_extra_roots_are_rejected_with_their_index() {
        let options = AzureOptions {
            extra_root_certificates_pem: vec!["not a pem".into()],
            ..AzureOptions::default()
        };
        let err = build_client(&options).expect_err("bad PEM");
        assert!(err.to_string().contains("#0"), "{err}");
    }
}
