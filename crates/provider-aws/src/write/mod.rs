//! PushSecret write paths (ESO's `PushSecret`/`DeleteSecret`/`SecretExists` for AWS):
//! Secrets Manager and Parameter Store, both marked with ESO's `managed-by: external-secrets`
//! tag; secrets without it are never written or deleted.
//!
//! Metadata (`data[].metadata`, ESO's `PushSecretMetadata` document):
//! - Secrets Manager: `tags`, `description`, `secretPushFormat` (`binary`, the default, or
//!   `string`), `kmsKeyId` (default `alias/aws/secretsmanager`); `resourcePolicy` and
//!   `replicationLocations` are refused as not supported yet.
//! - Parameter Store: `secretType` (`String`, `StringList`, `SecureString`), `kmsKeyID`
//!   (SecureString, default `alias/aws/ssm`), `tier` (`{type: Standard|Advanced|IntelligentTiering,
//!   policies}`), `tags`, `description`; `encodeAsDecoded` is accepted (values are always pushed
//!   as strings).

mod parameter_store;
mod secrets_manager;

use std::collections::BTreeMap;

use async_trait::async_trait;
use secretsync_model::ProviderError;
use secretsync_model::push_secret::PushSecretRemoteRef;
use secretsync_model::writer::{
    DeleteOutcome, MANAGED_BY_KEY, MANAGED_BY_VALUE, PushOutcome, PushRequest, RemoteState,
    SecretWriter, not_managed, value_to_write,
};
use zeroize::Zeroizing;

use crate::error::CallSite;
use crate::options::AwsOptions;
use crate::provider::AwsProvider;

pub(crate) use parameter_store::ParameterStoreWriter;
pub(crate) use secrets_manager::SecretsManagerWriter;

/// The write half of a store's backend.
pub(crate) enum AwsWriter {
    /// `service: SecretsManager`.
    SecretsManager(SecretsManagerWriter),
    /// `service: ParameterStore`.
    ParameterStore(ParameterStoreWriter),
}

/// Region, options and key prefix shared by both writers.
pub(crate) struct WriteSite {
    pub region: String,
    pub options: AwsOptions,
    pub prefix: String,
}

impl WriteSite {
    pub(crate) fn call<'a>(
        &'a self,
        service: &'static str,
        operation: &'static str,
        subject: &'a str,
    ) -> CallSite<'a> {
        CallSite {
            service,
            operation,
            subject,
            region: &self.region,
            endpoint_override: self.options.endpoint_url.as_deref(),
            clock: &self.options.clock,
        }
    }

    pub(crate) fn name(&self, remote: &PushSecretRemoteRef) -> String {
        format!("{}{}", self.prefix, remote.remote_key)
    }
}

/// Whether tags carry ESO's marker.
pub(crate) fn is_managed<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    tags.into_iter()
        .any(|(k, v)| k == MANAGED_BY_KEY && v == MANAGED_BY_VALUE)
}

/// The tags to set: the requested ones plus the marker; requesting the marker key is refused
/// (ESO: "Cannot specify a 'managed-by' tag").
pub(crate) fn tags_with_marker(
    requested: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    if requested.contains_key(MANAGED_BY_KEY) {
        return Err(format!(
            "metadata.spec.tags: cannot specify a {MANAGED_BY_KEY:?} tag"
        ));
    }
    let mut out = requested.clone();
    out.insert(MANAGED_BY_KEY.into(), MANAGED_BY_VALUE.into());
    Ok(out)
}

/// Tag changes to reach `wanted` from `current` (ESO's `FindTagKeysToRemove` and
/// `computeTagsToUpdate`): keys to remove (never the marker), tags to set.
pub(crate) fn tag_changes(
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> (Vec<String>, BTreeMap<String, String>) {
    let remove = current
        .keys()
        .filter(|k| !wanted.contains_key(*k) && k.as_str() != MANAGED_BY_KEY)
        .cloned()
        .collect();
    let set = wanted
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (remove, set)
}

/// The complete value a push writes over the remote as read (`None`: absent; else whether its
/// tags carry ESO's marker and its current value), by ESO's rules for both services: a remote
/// without the marker is refused ([`not_managed`]); `remoteRef.property` sets one member of the
/// current JSON value ([`value_to_write`]).
fn value_over_remote(
    what: &str,
    request: &PushRequest<'_>,
    remote: Option<(bool, Option<&[u8]>)>,
) -> Result<Zeroizing<Vec<u8>>, ProviderError> {
    if let Some((false, _)) = remote {
        return Err(not_managed(request.remote));
    }
    let current = remote.and_then(|(_, value)| value);
    value_to_write(current, request.remote.property(), request.value.expose())
        .map_err(|m| invalid(what.to_string(), m))
}

fn invalid(what: String, message: String) -> ProviderError {
    ProviderError::InvalidStoreConfig(format!("{what}: {message}"))
}

#[async_trait]
impl SecretWriter for AwsProvider {
    async fn remote_state(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<RemoteState, ProviderError> {
        match self.write_backend() {
            AwsWriter::SecretsManager(w) => w.remote_state(remote).await,
            AwsWriter::ParameterStore(w) => w.remote_state(remote).await,
        }
    }

    async fn push(&self, request: &PushRequest<'_>) -> Result<PushOutcome, ProviderError> {
        match self.write_backend() {
            AwsWriter::SecretsManager(w) => w.push(request).await,
            AwsWriter::ParameterStore(w) => w.push(request).await,
        }
    }

    async fn delete(&self, remote: &PushSecretRemoteRef) -> Result<DeleteOutcome, ProviderError> {
        match self.write_backend() {
            AwsWriter::SecretsManager(w) => w.delete(remote).await,
            AwsWriter::ParameterStore(w) => w.delete(remote).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tags() {
        assert!(is_managed([("managed-by", "external-secrets")]));
        assert!(!is_managed([("managed-by", "someone")]));
        assert!(tags_with_marker(&map(&[("managed-by", "x")])).is_err());
        assert_eq!(
            tags_with_marker(&map(&[("team", "a")])).expect("ok"),
            map(&[("managed-by", "external-secrets"), ("team", "a")])
        );
        let current = map(&[
            ("managed-by", "external-secrets"),
            ("old", "1"),
            ("same", "s"),
        ]);
        let wanted = map(&[
            ("managed-by", "external-secrets"),
            ("same", "s"),
            ("new", "2"),
        ]);
        let (remove, set) = tag_changes(&current, &wanted);
        assert_eq!(remove, ["old"]);
        assert_eq!(set, map(&[("new", "2")]));
    }
}
