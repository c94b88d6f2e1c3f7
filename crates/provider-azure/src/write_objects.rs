//! PushSecret to Key Vault keys and certificates (ESO's `setKeyVaultKey` /
//! `setKeyVaultCertificate`, `deleteKeyVaultKey` / `deleteKeyVaultCertificate`):
//! - `key/<name>`: a PEM private key (PKCS#8, PKCS#1 RSA, SEC1 EC) is imported as a JWK with
//!   `PUT keys/{name}`; a value without PEM data is a symmetric (`oct`) key, which only a
//!   Managed HSM accepts. Nothing is written when the remote key's `kty` and public members
//!   (`n`/`e` or `crv`/`x`/`y`) already equal the new key's.
//! - `cert/<name>`: the value (PKCS#12 without password, DER, or PEM with certificate and
//!   PKCS#8 key) is imported with `POST certificates/{name}/import`; nothing is written when
//!   the remote `cer` equals the value's leaf certificate.
//!
//! Both carry ESO's `managed-by: external-secrets` tag (plus `metadata.spec.tags`); existing
//! objects without it are never overwritten nor deleted.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use secretsync_model::ProviderError;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::writer::{
    DeleteOutcome, MANAGED_BY_KEY, MANAGED_BY_VALUE, PushOutcome, PushRequest, RemoteState,
    not_managed,
};
use secretsync_template::funcs::material::{
    CertificateFormat, PrivateJwk, leaf_certificate, private_key_jwk,
};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::objects::ObjectKind;
use crate::provider::AzureProvider;

/// The public JWK members that identify a key of each type (ESO compares these).
fn identity_members(kty: &str) -> &'static [&'static str] {
    match kty {
        "RSA" | "RSA-HSM" => &["n", "e"],
        "EC" | "EC-HSM" => &["crv", "x", "y"],
        _ => &[],
    }
}

/// ESO's key comparison: same `kty` and public members (`oct` keys never compare equal, as
/// Key Vault does not return their material).
pub(crate) fn key_unchanged(remote: &Value, local: &PrivateJwk) -> bool {
    let Some(kty) = local.get("kty") else {
        return false;
    };
    let members = identity_members(kty);
    !members.is_empty()
        && remote.get("kty").and_then(Value::as_str) == Some(kty)
        && members
            .iter()
            .all(|m| remote.get(*m).and_then(Value::as_str) == local.get(m))
}

/// ESO's certificate comparison: the remote `cer` equals the local leaf certificate.
pub(crate) fn certificate_unchanged(remote_bundle: &Value, leaf_der: &[u8]) -> bool {
    remote_bundle
        .get("cer")
        .and_then(Value::as_str)
        .and_then(|c| STANDARD.decode(c).ok())
        .is_some_and(|c| c == leaf_der)
}

fn managed(bundle: &Value) -> bool {
    bundle
        .pointer(&format!("/tags/{MANAGED_BY_KEY}"))
        .and_then(Value::as_str)
        == Some(MANAGED_BY_VALUE)
}

impl AzureProvider {
    /// The key or certificate bundle, `None` when absent.
    async fn existing_object(
        &self,
        kind: ObjectKind,
        name: &str,
        what: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let url = self.client().object_url(kind.collection(), name, None);
        match self.client().get_json(url, what).await {
            Ok(v) => Ok(Some(v)),
            Err(ProviderError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `remote_state` of `key/…` and `cert/…`.
    pub(crate) async fn object_remote_state(
        &self,
        kind: ObjectKind,
        name: &str,
    ) -> Result<RemoteState, ProviderError> {
        let what = format!(
            "{} {name:?} in vault {}",
            kind.noun(),
            self.client().vault_url()
        );
        Ok(match self.existing_object(kind, name, &what).await? {
            None => RemoteState::Absent,
            Some(b) if managed(&b) => RemoteState::Managed,
            Some(_) => RemoteState::Unmanaged,
        })
    }

    /// `push` of `key/…` and `cert/…` with the tags to write.
    pub(crate) async fn push_object(
        &self,
        kind: ObjectKind,
        name: &str,
        request: &PushRequest<'_>,
        tags: &BTreeMap<String, String>,
    ) -> Result<PushOutcome, ProviderError> {
        let what = format!(
            "pushing {} {name:?} to vault {}",
            kind.noun(),
            self.client().vault_url()
        );
        let invalid = |m: String| ProviderError::InvalidStoreConfig(format!("{what}: {m}"));
        if request.remote.property().is_some() {
            return Err(invalid(
                "remoteRef.property is not supported for Key Vault keys and certificates".into(),
            ));
        }
        let value = request.value.expose();
        // Parse before any request: a bad value never reaches the vault.
        let (body, existed, method, url) = match kind {
            ObjectKind::Key => {
                let jwk = private_key_jwk(value)
                    .map_err(|e| invalid(format!("the value is not a usable key: {e}")))?;
                let existing = self.existing_object(kind, name, &what).await?;
                if let Some(e) = &existing {
                    if !managed(e) {
                        return Err(not_managed(request.remote));
                    }
                    if e.get("key").is_some_and(|k| key_unchanged(k, &jwk)) {
                        return Ok(PushOutcome::Unchanged);
                    }
                }
                let key: Map<String, Value> = jwk
                    .members()
                    .map(|(n, v)| (n.to_string(), json!(v)))
                    .collect();
                let body = json!({"key": key, "tags": tags});
                let url = self.client().object_url(kind.collection(), name, None);
                (body, existing.is_some(), Method::PUT, url)
            }
            ObjectKind::Certificate => {
                let (format, leaf) = leaf_certificate(value)
                    .map_err(|e| invalid(format!("the value is not a certificate: {e}")))?;
                let existing = self.existing_object(kind, name, &what).await?;
                if let Some(e) = &existing {
                    if !managed(e) {
                        return Err(not_managed(request.remote));
                    }
                    if certificate_unchanged(e, &leaf) {
                        return Ok(PushOutcome::Unchanged);
                    }
                }
                let content_type = match format {
                    CertificateFormat::Pem => "application/x-pem-file",
                    CertificateFormat::Pkcs12 | CertificateFormat::Der => "application/x-pkcs12",
                };
                let body = json!({
                    "value": STANDARD.encode(value),
                    "policy": {"secret_props": {"contentType": content_type}},
                    "tags": tags,
                });
                let url = self
                    .client()
                    .object_url(kind.collection(), name, Some("import"));
                (body, existing.is_some(), Method::POST, url)
            }
            ObjectKind::Secret => unreachable_secret(&what)?,
        };
        let bytes = Zeroizing::new(serde_json::to_vec(&body).map_err(|_| {
            ProviderError::BadResponse(format!("{what}: could not encode the request"))
        })?);
        drop(body);
        self.client().call(method, url, Some(&bytes), &what).await?;
        Ok(if existed {
            PushOutcome::Updated
        } else {
            PushOutcome::Created
        })
    }

    /// `delete` of `key/…` and `cert/…`: only objects carrying the marker.
    pub(crate) async fn delete_object(
        &self,
        kind: ObjectKind,
        name: &str,
        remote: &PushSecretRemoteRef,
    ) -> Result<DeleteOutcome, ProviderError> {
        let what = format!(
            "deleting {} {name:?} from vault {}",
            kind.noun(),
            self.client().vault_url()
        );
        if remote.property().is_some() {
            return Err(ProviderError::InvalidStoreConfig(format!(
                "{what}: remoteRef.property is not supported for Key Vault keys and certificates"
            )));
        }
        let Some(existing) = self.existing_object(kind, name, &what).await? else {
            return Ok(DeleteOutcome::Absent);
        };
        if !managed(&existing) {
            return Ok(DeleteOutcome::NotManaged);
        }
        let url = self.client().object_url(kind.collection(), name, None);
        match self.client().call(Method::DELETE, url, None, &what).await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(ProviderError::NotFound(_)) => Ok(DeleteOutcome::Absent),
            Err(e) => Err(e),
        }
    }
}

/// Secrets are written by `write.rs`; reaching here is a dispatch bug, reported not panicked.
fn unreachable_secret<T>(what: &str) -> Result<T, ProviderError> {
    Err(ProviderError::BadResponse(format!(
        "{what}: internal error: secrets are not keys or certificates"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_by_type_and_public_members() {
        let ec = private_key_jwk(include_bytes!("../../template/tests/fixtures/leaf.key"))
            .expect("ec key");
        let remote = json!({
            "kty": "EC", "crv": ec.get("crv"), "x": ec.get("x"), "y": ec.get("y"),
            "kid": "https://v/keys/k/1", "key_ops": ["sign"],
        });
        assert!(key_unchanged(&remote, &ec));
        let mut other = remote.clone();
        other["x"] = json!("AAAA");
        assert!(!key_unchanged(&other, &ec));
        other = remote.clone();
        other["kty"] = json!("RSA");
        assert!(!key_unchanged(&other, &ec));
        let oct = private_key_jwk(b"sym").expect("oct");
        assert!(!key_unchanged(&json!({"kty": "oct"}), &oct));
    }

    #[test]
    fn certificates_compare_by_cer() {
        let bundle = json!({"cer": STANDARD.encode([0x30, 1, 2])});
        assert!(certificate_unchanged(&bundle, &[0x30, 1, 2]));
        assert!(!certificate_unchanged(&bundle, &[0x30, 1, 3]));
        assert!(!certificate_unchanged(&json!({}), &[0x30]));
    }
}
