//! The HTTP client (rustls, extra roots, timeouts, no redirects) and small response helpers.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use secretsync_model::ProviderError;

use crate::options::AzureOptions;

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

/// `Retry-After` in seconds (HTTP dates are not used by Azure and are ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
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
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), None);
    }

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
