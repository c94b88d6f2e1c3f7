//! Trust anchors and client certificates of a store (`caBundle`, `caProvider`, `tls`, `cert`).

use base64::Engine;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::meta::{CaProviderKind, SecretKeySelector};
use secretsync_model::providers::VaultSpec;
use secretsync_model::{ProviderError, SecretValue};
use zeroize::Zeroizing;

use crate::auth::{AuthMethod, with_default_key};

/// Decodes `caBundle` (base64 of PEM; raw PEM is accepted too).
pub(crate) fn decode_ca_bundle(value: &str, field: &str) -> Result<Vec<u8>, ProviderError> {
    let trimmed = value.trim();
    if trimmed.starts_with("-----BEGIN") {
        return Ok(trimmed.as_bytes().to_vec());
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| {
            ProviderError::InvalidStoreConfig(format!(
                "{field}.caBundle: expected base64-encoded PEM certificates"
            ))
        })
}

/// Reads the `caProvider` bundle through the credential resolver.
pub(crate) async fn ca_provider_pem(
    spec: &VaultSpec,
    store_namespace: Option<&str>,
    credentials: &dyn CredentialResolver,
    field: &str,
) -> Result<Option<Vec<u8>>, ProviderError> {
    let Some(ca) = &spec.ca_provider else {
        return Ok(None);
    };
    let key = ca.key.as_deref().filter(|k| !k.is_empty()).ok_or_else(|| {
        ProviderError::InvalidStoreConfig(format!("{field}.caProvider.key: expected a key name"))
    })?;
    let pem = match ca.kind {
        CaProviderKind::ConfigMap => credentials
            .config_map_value(&ca.name, ca.namespace.as_deref().or(store_namespace), key)
            .await?
            .into_bytes(),
        CaProviderKind::Secret => {
            let selector = SecretKeySelector {
                name: ca.name.clone(),
                namespace: ca.namespace.clone(),
                key: Some(key.to_string()),
            };
            credentials
                .secret_value(&selector, None)
                .await?
                .expose()
                .to_vec()
        }
    };
    Ok(Some(pem))
}

/// The client certificate presented on every connection: cert auth's certificate, else the
/// store's `tls` block. Returns certificate + key PEM, concatenated.
pub(crate) async fn client_identity(
    spec: &VaultSpec,
    auth: &AuthMethod,
    credentials: &dyn CredentialResolver,
) -> Result<Option<Zeroizing<Vec<u8>>>, ProviderError> {
    let (cert_ref, key_ref) = match (auth, &spec.tls) {
        (
            AuthMethod::Cert {
                cert_ref, key_ref, ..
            },
            _,
        ) => (cert_ref.clone(), key_ref.clone()),
        (_, Some(tls)) => match (&tls.cert_secret_ref, &tls.key_secret_ref) {
            (Some(c), Some(k)) => (
                with_default_key(c, "tls.crt"),
                with_default_key(k, "tls.key"),
            ),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let cert: SecretValue = credentials.secret_value(&cert_ref, None).await?;
    let key: SecretValue = credentials.secret_value(&key_ref, None).await?;
    let mut pem = Zeroizing::new(Vec::with_capacity(cert.len() + key.len() + 1));
    pem.extend_from_slice(cert.expose());
    pem.push(b'\n');
    pem.extend_from_slice(key.expose());
    Ok(Some(pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_bundle_accepts_base64_and_pem() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(decode_ca_bundle(&b64, "f").expect("base64"), pem.as_bytes());
        assert_eq!(
            decode_ca_bundle(pem, "f").expect("pem"),
            pem.trim().as_bytes()
        );
        let err = decode_ca_bundle("***", "spec.provider.vault").expect_err("invalid");
        assert!(err.to_string().contains("spec.provider.vault.caBundle"));
    }
}
