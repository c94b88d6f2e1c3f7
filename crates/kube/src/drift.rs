//! Drift detection: a keyed HMAC over everything the writer owns on a Secret.
//!
//! ESO stores an *unkeyed* SHA3 hash of the Secret data in `reconcile.external-secrets.io/data-hash`;
//! anyone who can read the Secret's metadata can test guesses of low-entropy values against it,
//! and it covers neither the type nor labels/annotations. secretsync stores
//! `HMAC-SHA256(key, type ‖ owned data ‖ owned labels ‖ owned annotations)` in
//! [`HMAC_ANNOTATION`]. The key lives in a Secret in the operator's namespace
//! ([`DriftKey::load_or_create`]), generated once and reused by every replica.
//!
//! The writer compares three fingerprints: the one of the desired content, the one recomputed
//! from the live Secret (restricted to the fields we own) and the one stored in the annotation.
//! All equal: nothing to write. Otherwise: apply (drift repair or a real change).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// Annotation holding the keyed fingerprint of the owned content.
pub const HMAC_ANNOTATION: &str = "secretsync.io/hmac";
/// Key of the drift key inside its Secret.
pub const DRIFT_KEY_FIELD: &str = "hmac-key";

/// The HMAC key. Never printed.
pub struct DriftKey(SecretBox<[u8]>);

impl std::fmt::Debug for DriftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DriftKey([REDACTED])")
    }
}

/// Errors loading or creating the drift key Secret.
#[derive(Debug, thiserror::Error)]
pub enum DriftKeyError {
    /// The API call failed.
    #[error("drift key Secret {namespace}/{name}: {source}")]
    Kube {
        /// Namespace of the key Secret.
        namespace: String,
        /// Name of the key Secret.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// The Secret exists but has no usable key.
    #[error(
        "drift key Secret {namespace}/{name}: data.{DRIFT_KEY_FIELD} is missing or shorter than 32 bytes"
    )]
    Invalid {
        /// Namespace of the key Secret.
        namespace: String,
        /// Name of the key Secret.
        name: String,
    },
}

impl DriftKey {
    /// A fresh random 32-byte key.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        DriftKey(SecretBox::new(bytes.into_boxed_slice()))
    }

    /// A key from bytes (tests, or a key provisioned out of band).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        DriftKey(SecretBox::new(bytes.into_boxed_slice()))
    }

    /// Reads the key from `namespace/name`, creating the Secret with a random key when absent.
    /// Concurrent creators converge on whichever Secret was created first.
    pub async fn load_or_create(
        client: kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<Self, DriftKeyError> {
        let api: Api<Secret> = Api::namespaced(client, namespace);
        let kube_err = |source| DriftKeyError::Kube {
            namespace: namespace.to_string(),
            name: name.to_string(),
            source,
        };
        for _ in 0..3 {
            if let Some(existing) = api.get_opt(name).await.map_err(kube_err)? {
                let bytes = existing
                    .data
                    .and_then(|mut d| d.remove(DRIFT_KEY_FIELD))
                    .map(|b| b.0)
                    .filter(|b| b.len() >= 32)
                    .ok_or_else(|| DriftKeyError::Invalid {
                        namespace: namespace.to_string(),
                        name: name.to_string(),
                    })?;
                return Ok(DriftKey::from_bytes(bytes));
            }
            let key = DriftKey::generate();
            let secret = Secret {
                metadata: kube::api::ObjectMeta {
                    name: Some(name.to_string()),
                    namespace: Some(namespace.to_string()),
                    labels: Some(BTreeMap::from([(
                        "app.kubernetes.io/component".to_string(),
                        "secretsync-drift-key".to_string(),
                    )])),
                    ..Default::default()
                },
                data: Some(BTreeMap::from([(
                    DRIFT_KEY_FIELD.to_string(),
                    ByteString(key.0.expose_secret().to_vec()),
                )])),
                type_: Some("Opaque".to_string()),
                ..Default::default()
            };
            match api.create(&PostParams::default(), &secret).await {
                Ok(_) => return Ok(key),
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(e) => return Err(kube_err(e)),
            }
        }
        Err(DriftKeyError::Invalid {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    /// The fingerprint of a Secret's owned content. Inputs are length-prefixed so no two
    /// different contents share an encoding.
    pub fn fingerprint<'a>(
        &self,
        type_: &str,
        data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
    ) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .unwrap_or_else(|_| unreachable_hmac());
        let mut feed = |tag: &[u8], bytes: &[u8]| {
            mac.update(tag);
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        };
        feed(b"t", type_.as_bytes());
        let data: BTreeMap<&str, &[u8]> = data.into_iter().collect();
        for (k, v) in data {
            feed(b"dk", k.as_bytes());
            feed(b"dv", v);
        }
        for (k, v) in labels {
            feed(b"lk", k.as_bytes());
            feed(b"lv", v.as_bytes());
        }
        for (k, v) in annotations.iter().filter(|(k, _)| *k != HMAC_ANNOTATION) {
            feed(b"ak", k.as_bytes());
            feed(b"av", v.as_bytes());
        }
        format!("v1:{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

// HMAC accepts keys of any length; this is never reached.
fn unreachable_hmac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable_hmac())
}

/// Bytes of a live Secret's data map, for fingerprinting.
pub fn live_pairs(data: &BTreeMap<String, ByteString>) -> impl Iterator<Item = (&str, &[u8])> {
    data.iter().map(|(k, v)| (k.as_str(), v.0.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_every_owned_field_and_the_key() {
        let key = DriftKey::from_bytes(vec![7; 32]);
        let labels = BTreeMap::from([("a".to_string(), "1".to_string())]);
        let none = BTreeMap::new();
        let base = key.fingerprint("Opaque", [("k", b"v".as_slice())], &labels, &none);
        assert_eq!(
            base,
            key.fingerprint("Opaque", [("k", b"v".as_slice())], &labels, &none)
        );
        assert_ne!(
            base,
            key.fingerprint("Other", [("k", b"v".as_slice())], &labels, &none)
        );
        assert_ne!(
            base,
            key.fingerprint("Opaque", [("k", b"w".as_slice())], &labels, &none)
        );
        assert_ne!(
            base,
            key.fingerprint("Opaque", [("k", b"v".as_slice())], &none, &none)
        );
        assert_ne!(
            base,
            key.fingerprint("Opaque", [("k", b"v".as_slice())], &none, &labels)
        );
        let other = DriftKey::from_bytes(vec![8; 32]);
        assert_ne!(
            base,
            other.fingerprint("Opaque", [("k", b"v".as_slice())], &labels, &none)
        );
        // the annotation holding the fingerprint is not part of it
        let with_self = BTreeMap::from([(HMAC_ANNOTATION.to_string(), base.clone())]);
        assert_eq!(
            base,
            key.fingerprint("Opaque", [("k", b"v".as_slice())], &labels, &with_self)
        );
    }
}
