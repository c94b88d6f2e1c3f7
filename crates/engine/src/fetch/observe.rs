//! Metric hooks of the fetch layer: a host (the operator) learns of every provider call and
//! every coalesced read without the engine depending on a metrics library.
//!
//! Labels follow ESO's `externalsecret_provider_api_calls_count{provider,call,status}` so
//! existing dashboards keep working: the provider label is ESO's (`HashiCorp/Vault`,
//! `AWS/SecretsManager`, `AWS/ParameterStore`, `Azure/KeyVault`) and the call label is the
//! ESO call name of the read the engine asked for (`ReadSecretData`, `GetSecretValue`, ...).
//! One observation is one provider operation after coalescing; logins, token refreshes and a
//! provider's internal batching (AWS `BatchGetSecretValue`) are not observed separately.

use std::time::Duration;

use secretsync_model::secret_store::SecretStoreSpec;

/// Receives fetch-layer events. Implementations must be cheap and must not block.
pub trait FetchObserver: Send + Sync {
    /// A provider operation finished.
    fn provider_call(&self, call: &ProviderCall);
    /// A read was served by an identical read in flight or within the coalescing window.
    fn read_coalesced(&self, labels: CallLabels);
}

/// ESO's provider and call labels of one kind of read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallLabels {
    /// ESO's provider label, e.g. `AWS/SecretsManager`.
    pub provider: &'static str,
    /// ESO's call label, e.g. `GetSecretValue`.
    pub call: &'static str,
}

/// How a provider operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// The provider answered with data.
    Success,
    /// Any error, including "not found" and throttling (ESO counts these as `error` too).
    Error,
}

impl CallStatus {
    /// ESO's `status` label value.
    pub fn as_label(self) -> &'static str {
        match self {
            CallStatus::Success => "success",
            CallStatus::Error => "error",
        }
    }
}

/// One finished provider operation.
#[derive(Clone, Copy, Debug)]
pub struct ProviderCall {
    /// Provider and call labels.
    pub labels: CallLabels,
    /// How it ended.
    pub status: CallStatus,
    /// How long the provider took (excluding the wait for a concurrency slot).
    pub elapsed: Duration,
}

/// The two kinds of read the engine makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadKind {
    /// One remote key (`data[]`, `dataFrom[].extract`).
    Fetch,
    /// A listing (`dataFrom[].find`).
    Find,
}

/// ESO's labels for a read of `kind` through a store configured by `spec` (the provider
/// config's own [`metric_labels`](secretsync_model::secret_store::ProviderConfig::metric_labels),
/// so a new provider needs no change here).
pub fn call_labels(spec: &SecretStoreSpec, kind: ReadKind) -> CallLabels {
    let (provider, fetch, find) = match spec.provider.config() {
        Ok(config) => {
            let l = config.metric_labels();
            (l.provider, l.fetch_call, l.find_call)
        }
        Err(_) => ("Unknown", "GetSecret", "GetAllSecrets"),
    };
    CallLabels {
        provider,
        call: match kind {
            ReadKind::Fetch => fetch,
            ReadKind::Find => find,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> SecretStoreSpec {
        serde_yaml::from_str(yaml).expect("store spec")
    }

    #[test]
    fn labels_follow_eso_names() {
        let sm = spec("provider: {aws: {service: SecretsManager, region: eu-west-1}}");
        assert_eq!(
            call_labels(&sm, ReadKind::Fetch),
            CallLabels {
                provider: "AWS/SecretsManager",
                call: "GetSecretValue"
            }
        );
        let ps = spec("provider: {aws: {service: ParameterStore, region: eu-west-1}}");
        assert_eq!(call_labels(&ps, ReadKind::Find).call, "DescribeParameters");
        let vault = spec("provider: {vault: {server: 'https://v', path: secret, version: v2}}");
        assert_eq!(
            call_labels(&vault, ReadKind::Fetch).provider,
            "HashiCorp/Vault"
        );
        let kv = spec("provider: {azurekv: {vaultUrl: 'https://kv.vault.azure.net'}}");
        assert_eq!(call_labels(&kv, ReadKind::Fetch).call, "GetSecret");
        let bao = spec("provider: {openBao: {server: 'https://bao'}}");
        assert_eq!(call_labels(&bao, ReadKind::Find).provider, "OpenBao");
        let none = spec("provider: {gcpsm: {}}");
        assert_eq!(call_labels(&none, ReadKind::Fetch).provider, "Unknown");
    }
}
