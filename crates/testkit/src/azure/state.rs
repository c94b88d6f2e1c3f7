//! The double's in-memory state: vault objects, registered applications and identities, counters.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use secrecy::SecretString;
use serde_json::{Map, Value};

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A fresh Key Vault style version id: 32 lowercase hex characters.
pub(crate) fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Formats Unix seconds as `YYYY-MM-DD hh:mm:ssZ` (Entra's error timestamp format).
pub(crate) fn entra_timestamp(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d %H:%M:%SZ")
        .to_string()
}

/// One version of a secret.
pub(crate) struct SecretVersion {
    pub(crate) version: String,
    pub(crate) value: SecretString,
    pub(crate) content_type: Option<String>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) enabled: bool,
    pub(crate) not_before: Option<i64>,
    pub(crate) expires: Option<i64>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    /// Set for secrets backing a certificate (`managed: true` + `kid`).
    pub(crate) managed_kid: Option<String>,
}

/// A secret that was deleted and awaits purge (soft delete).
pub(crate) struct DeletedSecret {
    pub(crate) latest: SecretVersion,
    pub(crate) deleted_date: i64,
}

/// One version of a key (public JWK only).
pub(crate) struct KeyVersion {
    pub(crate) version: String,
    pub(crate) jwk: Map<String, Value>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) enabled: bool,
    pub(crate) created: i64,
}

/// One version of a certificate.
pub(crate) struct CertificateVersion {
    pub(crate) version: String,
    pub(crate) der: Vec<u8>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) enabled: bool,
    pub(crate) not_before: Option<i64>,
    pub(crate) expires: Option<i64>,
    pub(crate) created: i64,
}

/// A federated identity credential on an app registration.
pub(crate) struct FederatedCredential {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) audience: String,
}

/// An app registration (service principal) in one tenant.
#[derive(Default)]
pub(crate) struct AppRegistration {
    pub(crate) secrets: Vec<SecretString>,
    pub(crate) certificates: Vec<CertificateDer<'static>>,
    pub(crate) federated: Vec<FederatedCredential>,
}

/// Keys trusted for verifying assertions from one external issuer.
pub(crate) enum IssuerKeys {
    /// JWKS `keys` entries.
    Jwks(Vec<Map<String, Value>>),
    /// A DER `SubjectPublicKeyInfo`.
    Spki(Vec<u8>),
}

/// Pending throttling of vault requests.
#[derive(Default)]
pub(crate) struct Throttle {
    pub(crate) remaining: u32,
    pub(crate) retry_after_secs: u64,
    /// Only requests whose path contains this fragment are throttled (`None` = all).
    pub(crate) path_fragment: Option<String>,
}

/// Request counters.
#[derive(Default, Clone)]
pub(crate) struct Counters {
    pub(crate) token_by_grant: BTreeMap<String, u64>,
    pub(crate) token_failures: u64,
    pub(crate) vault_by_operation: BTreeMap<String, u64>,
    pub(crate) vault_unauthorized: u64,
    pub(crate) vault_throttled: u64,
}

/// Everything the double knows, behind one mutex.
#[derive(Default)]
pub(crate) struct State {
    /// name → versions in creation order (last = latest)
    pub(crate) secrets: BTreeMap<String, Vec<SecretVersion>>,
    pub(crate) deleted_secrets: BTreeMap<String, DeletedSecret>,
    pub(crate) keys: BTreeMap<String, Vec<KeyVersion>>,
    pub(crate) certificates: BTreeMap<String, Vec<CertificateVersion>>,
    /// (tenant, client_id) → registration
    pub(crate) apps: BTreeMap<(String, String), AppRegistration>,
    /// issuer URL → keys
    pub(crate) trusted_issuers: BTreeMap<String, IssuerKeys>,
    /// managed identities: `None` = system-assigned, `Some(client_id)` = user-assigned
    pub(crate) managed_identities: Vec<Option<String>>,
    pub(crate) throttle: Throttle,
    pub(crate) counters: Counters,
    /// Lifetime of issued access tokens in seconds.
    pub(crate) token_lifetime_secs: i64,
}

impl State {
    /// Finds a secret version; `version` empty or `None` means latest.
    pub(crate) fn secret_version(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Option<&SecretVersion> {
        let versions = self.secrets.get(name)?;
        match version.filter(|v| !v.is_empty()) {
            None => versions.last(),
            Some(v) => versions
                .iter()
                .find(|sv| sv.version.eq_ignore_ascii_case(v)),
        }
    }

    /// Mutable variant of [`Self::secret_version`].
    pub(crate) fn secret_version_mut(
        &mut self,
        name: &str,
        version: Option<&str>,
    ) -> Option<&mut SecretVersion> {
        let versions = self.secrets.get_mut(name)?;
        match version.filter(|v| !v.is_empty()) {
            None => versions.last_mut(),
            Some(v) => versions
                .iter_mut()
                .find(|sv| sv.version.eq_ignore_ascii_case(v)),
        }
    }

    /// Counts one token request by grant type.
    pub(crate) fn count_token(&mut self, grant: &str) {
        *self
            .counters
            .token_by_grant
            .entry(grant.to_string())
            .or_default() += 1;
    }

    /// Counts one authenticated vault request by operation.
    pub(crate) fn count_vault(&mut self, operation: &str) {
        *self
            .counters
            .vault_by_operation
            .entry(operation.to_string())
            .or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_timestamp_formats_known_instants() {
        assert_eq!(entra_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(entra_timestamp(1_700_000_000), "2023-11-14 22:13:20Z");
        assert_eq!(entra_timestamp(951_782_400), "2000-02-29 00:00:00Z");
    }

    #[test]
    fn version_ids_are_32_hex() {
        let v = new_version_id();
        assert_eq!(v.len(), 32);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
