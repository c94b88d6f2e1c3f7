//! Test-setup calls on [`AzureDouble`]: vault objects, app registrations, trusted issuers and
//! managed identities.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use serde_json::Value;

use super::state::{
    AppRegistration, CertificateVersion, FederatedCredential, IssuerKeys, KeyVersion,
    SecretVersion, new_version_id, now_secs,
};
use super::{AzureDouble, AzureDoubleError, tls, vault};

/// Attributes of a secret created with [`AzureDouble::set_secret`].
#[derive(Debug, Clone)]
pub struct SecretOptions {
    /// Tags (string → string).
    pub tags: BTreeMap<String, String>,
    /// `attributes.enabled`; a disabled latest version answers GET with 403 `SecretDisabled`.
    pub enabled: bool,
    /// `contentType`.
    pub content_type: Option<String>,
    /// `attributes.exp`, Unix seconds (reported, not enforced).
    pub expires: Option<i64>,
    /// `attributes.nbf`, Unix seconds (reported, not enforced).
    pub not_before: Option<i64>,
}

impl Default for SecretOptions {
    fn default() -> Self {
        Self {
            tags: BTreeMap::new(),
            enabled: true,
            content_type: None,
            expires: None,
            not_before: None,
        }
    }
}

/// Attributes of a certificate created with [`AzureDouble::set_certificate`].
#[derive(Debug, Clone, Default)]
pub struct CertificateOptions {
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// `attributes.nbf`, Unix seconds.
    pub not_before: Option<i64>,
    /// `attributes.exp`, Unix seconds.
    pub expires: Option<i64>,
    /// When set, also creates the backing secret version (`managed: true`, content type
    /// `application/x-pem-file`, value = this key PEM followed by the certificate PEM), as Key
    /// Vault does for certificates with exportable keys.
    pub private_key_pem: Option<String>,
}

/// A managed identity the managed-identity endpoints will issue tokens for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedIdentity {
    /// Selected when the request has no `client_id`.
    SystemAssigned,
    /// Selected by `client_id`.
    UserAssigned {
        /// The identity's client id.
        client_id: String,
    },
}

/// Keys that verify federated assertions from one issuer.
#[derive(Debug, Clone)]
pub enum TrustedIssuerKeys {
    /// A JWKS document (`{"keys":[...]}`), e.g. the Kubernetes API double's `/openid/v1/jwks`.
    Jwks(Value),
    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo), e.g. a service-account signing key.
    PublicKeyPem(String),
}

fn invalid(message: String) -> AzureDoubleError {
    AzureDoubleError::InvalidInput(message)
}

fn check_name(kind: &str, name: &str) -> Result<(), AzureDoubleError> {
    if vault::valid_name(name) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{kind} name '{name}': expected 1-127 characters of 0-9, a-z, A-Z and '-'"
        )))
    }
}

fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl AzureDouble {
    /// Creates a new version of a secret and returns its version id (32 hex characters).
    pub fn set_secret(
        &self,
        name: &str,
        value: &str,
        opts: SecretOptions,
    ) -> Result<String, AzureDoubleError> {
        check_name("secret", name)?;
        let mut state = self.shared.lock();
        if state.deleted_secrets.contains_key(name) {
            return Err(invalid(format!(
                "secret '{name}' is deleted but recoverable; call purge_deleted_secret first"
            )));
        }
        let now = now_secs();
        let version = new_version_id();
        state
            .secrets
            .entry(name.to_string())
            .or_default()
            .push(SecretVersion {
                version: version.clone(),
                value: SecretString::from(value),
                content_type: opts.content_type,
                tags: opts.tags,
                enabled: opts.enabled,
                not_before: opts.not_before,
                expires: opts.expires,
                created: now,
                updated: now,
                managed_kid: None,
            });
        Ok(version)
    }

    fn set_enabled(
        &self,
        name: &str,
        version: Option<&str>,
        enabled: bool,
    ) -> Result<(), AzureDoubleError> {
        let mut state = self.shared.lock();
        let v = state.secret_version_mut(name, version).ok_or_else(|| {
            invalid(format!(
                "secret '{name}' version {version:?}: no such secret version"
            ))
        })?;
        v.enabled = enabled;
        v.updated = now_secs();
        Ok(())
    }

    /// Disables a secret version (`None` = latest).
    pub fn disable_secret(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<(), AzureDoubleError> {
        self.set_enabled(name, version, false)
    }

    /// Enables a secret version (`None` = latest).
    pub fn enable_secret(&self, name: &str, version: Option<&str>) -> Result<(), AzureDoubleError> {
        self.set_enabled(name, version, true)
    }

    /// Soft-deletes a secret (all versions), as `DELETE /secrets/{name}` does.
    pub fn delete_secret(&self, name: &str) -> Result<(), AzureDoubleError> {
        let mut state = self.shared.lock();
        let deleted = vault::secrets::delete_in_state(&mut state, name)
            .ok_or_else(|| invalid(format!("secret '{name}': no such secret")))?;
        state.deleted_secrets.insert(name.to_string(), deleted);
        Ok(())
    }

    /// Purges a soft-deleted secret so its name can be reused.
    pub fn purge_deleted_secret(&self, name: &str) -> Result<(), AzureDoubleError> {
        self.shared
            .lock()
            .deleted_secrets
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| invalid(format!("secret '{name}': not in the deleted state")))
    }

    /// Creates a new version of a key from a public JWK (`kty` required; private members such
    /// as `d` are dropped) and returns the version id.
    pub fn set_key(&self, name: &str, jwk: Value) -> Result<String, AzureDoubleError> {
        check_name("key", name)?;
        let Value::Object(mut jwk) = jwk else {
            return Err(invalid(format!(
                "key '{name}': the JWK must be a JSON object"
            )));
        };
        if !jwk.get("kty").is_some_and(Value::is_string) {
            return Err(invalid(format!(
                "key '{name}': the JWK needs a string 'kty'"
            )));
        }
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            jwk.remove(private);
        }
        jwk.remove("kid");
        let version = new_version_id();
        self.shared
            .lock()
            .keys
            .entry(name.to_string())
            .or_default()
            .push(KeyVersion {
                version: version.clone(),
                jwk,
                tags: BTreeMap::new(),
                enabled: true,
                created: now_secs(),
            });
        Ok(version)
    }

    /// Creates a new version of a certificate from its DER and returns the version id.
    pub fn set_certificate(
        &self,
        name: &str,
        der: &[u8],
        opts: CertificateOptions,
    ) -> Result<String, AzureDoubleError> {
        check_name("certificate", name)?;
        if der.first() != Some(&0x30) {
            return Err(invalid(format!(
                "certificate '{name}': expected DER (an ASN.1 SEQUENCE)"
            )));
        }
        let version = new_version_id();
        let now = now_secs();
        let mut state = self.shared.lock();
        if let Some(key_pem) = &opts.private_key_pem {
            if state.deleted_secrets.contains_key(name) {
                return Err(invalid(format!(
                    "certificate '{name}': its secret is deleted; purge it first"
                )));
            }
            let value = format!("{}{}", key_pem, der_to_pem("CERTIFICATE", der));
            state
                .secrets
                .entry(name.to_string())
                .or_default()
                .push(SecretVersion {
                    version: version.clone(),
                    value: SecretString::from(value),
                    content_type: Some("application/x-pem-file".into()),
                    tags: opts.tags.clone(),
                    enabled: true,
                    not_before: opts.not_before,
                    expires: opts.expires,
                    created: now,
                    updated: now,
                    managed_kid: Some(format!("/keys/{name}/{version}")),
                });
        }
        state
            .certificates
            .entry(name.to_string())
            .or_default()
            .push(CertificateVersion {
                version: version.clone(),
                der: der.to_vec(),
                tags: opts.tags,
                enabled: true,
                not_before: opts.not_before,
                expires: opts.expires,
                created: now,
            });
        Ok(version)
    }

    fn with_app(&self, tenant: &str, client_id: &str, f: impl FnOnce(&mut AppRegistration)) {
        let mut state = self.shared.lock();
        f(state
            .apps
            .entry((tenant.to_string(), client_id.to_string()))
            .or_default());
    }

    /// Registers (or extends) an app with a client secret.
    pub fn add_client_secret(&self, tenant: &str, client_id: &str, secret: &str) {
        self.with_app(tenant, client_id, |app| {
            app.secrets.push(SecretString::from(secret))
        });
    }

    /// Registers (or extends) an app with a certificate credential (PEM `CERTIFICATE`).
    pub fn add_client_certificate(
        &self,
        tenant: &str,
        client_id: &str,
        cert_pem: &str,
    ) -> Result<(), AzureDoubleError> {
        let der = tls::certificate_der_from_pem(cert_pem)?;
        self.with_app(tenant, client_id, |app| app.certificates.push(der));
        Ok(())
    }

    /// Registers (or extends) an app with a federated identity credential. Assertions must
    /// carry exactly this `iss` and `sub`, include `audience` in `aud`, and verify with the
    /// keys given to [`Self::trust_issuer`] for `issuer`.
    pub fn add_federated_credential(
        &self,
        tenant: &str,
        client_id: &str,
        issuer: &str,
        subject: &str,
        audience: &str,
    ) {
        self.with_app(tenant, client_id, |app| {
            app.federated.push(FederatedCredential {
                issuer: issuer.to_string(),
                subject: subject.to_string(),
                audience: audience.to_string(),
            })
        });
    }

    /// Configures the keys that verify assertions from `issuer` (replacing earlier ones).
    pub fn trust_issuer(
        &self,
        issuer: &str,
        keys: TrustedIssuerKeys,
    ) -> Result<(), AzureDoubleError> {
        let keys = match keys {
            TrustedIssuerKeys::Jwks(doc) => {
                let list = doc.get("keys").and_then(Value::as_array).ok_or_else(|| {
                    invalid(format!("issuer '{issuer}': JWKS must have a 'keys' array"))
                })?;
                let keys = list
                    .iter()
                    .map(|k| match k {
                        Value::Object(m) => Ok(m.clone()),
                        _ => Err(invalid(format!(
                            "issuer '{issuer}': every JWKS key must be an object"
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                IssuerKeys::Jwks(keys)
            }
            TrustedIssuerKeys::PublicKeyPem(pem) => {
                use rustls_pki_types::SubjectPublicKeyInfoDer;
                use rustls_pki_types::pem::PemObject;
                let der = SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
                    invalid(format!(
                        "issuer '{issuer}': expected a PEM 'PUBLIC KEY' block ({e})"
                    ))
                })?;
                IssuerKeys::Spki(der.to_vec())
            }
        };
        self.shared
            .lock()
            .trusted_issuers
            .insert(issuer.to_string(), keys);
        Ok(())
    }

    /// Adds a managed identity served by the managed-identity endpoints.
    pub fn add_managed_identity(&self, identity: ManagedIdentity) {
        let id = match identity {
            ManagedIdentity::SystemAssigned => None,
            ManagedIdentity::UserAssigned { client_id } => Some(client_id),
        };
        let mut state = self.shared.lock();
        if !state.managed_identities.contains(&id) {
            state.managed_identities.push(id);
        }
    }
}
