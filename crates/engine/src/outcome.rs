//! What a sync produces: the desired Secret (or a no-data decision) and per-key outcomes.

use std::collections::BTreeMap;

use secretsync_model::external_secret::{CreationPolicy, DeletionPolicy, KeyOutcomeStatus};
use secretsync_model::value::SecretData;

use crate::error::EngineError;

/// The Secret an ExternalSecret wants. Deterministic: identical inputs give identical values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredSecret {
    /// Secret name (`spec.target.name`, else the ExternalSecret's name).
    pub name: String,
    /// Namespace (the ExternalSecret's).
    pub namespace: String,
    /// Secret type (`spec.target.template.type`, `Opaque` when unset).
    pub type_: String,
    /// Data. `Debug` never shows values.
    pub data: SecretData,
    /// Labels from `spec.target.template.metadata.labels` and templateFrom `target: Labels`
    /// (rendered). The writer adds its own management labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations, likewise.
    pub annotations: BTreeMap<String, String>,
    /// Finalizers from the template metadata.
    pub finalizers: Vec<String>,
    /// `spec.target.immutable`.
    pub immutable: bool,
    /// `spec.target.creationPolicy`: how the writer must create or merge the Secret.
    pub creation_policy: CreationPolicy,
    /// `spec.target.deletionPolicy`.
    pub deletion_policy: DeletionPolicy,
    /// True when template `data` or `templateFrom` produced `data` (false: provider keys as is).
    pub templated: bool,
}

/// What the host should do with the target Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncResult {
    /// Create or update the Secret to this content (mind `creation_policy`).
    Write(DesiredSecret),
    /// The providers returned no data and `deletionPolicy: Delete`: delete the Secret
    /// (it is owned, the webhook rule guarantees `creationPolicy: Owner`).
    Delete {
        /// Secret name.
        name: String,
        /// Namespace.
        namespace: String,
    },
    /// The providers returned no data and `deletionPolicy: Retain`: keep the Secret as it is.
    Retain {
        /// Secret name.
        name: String,
        /// Namespace.
        namespace: String,
    },
}

impl SyncResult {
    /// The desired Secret, when the result is a write.
    pub fn desired(&self) -> Option<&DesiredSecret> {
        match self {
            SyncResult::Write(d) => Some(d),
            _ => None,
        }
    }
}

/// The state of one Secret key or `dataFrom` entry after a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Read and in the result.
    Synced,
    /// The remote secret does not exist; skipped (`deletionPolicy` Delete or Merge) or fatal
    /// (`Retain`, see the sync result).
    Missing {
        /// Which remote read was missing (key and store, never a value).
        reason: String,
    },
    /// Reading or processing failed.
    Failed {
        /// Why (never a value).
        reason: String,
    },
}

/// Outcome of one `spec.data[i]` key or `spec.dataFrom[i]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOutcome {
    /// The Secret key for `data[]`, `dataFrom[i]` for dataFrom entries.
    pub key: String,
    /// The field (`spec.data[2]`).
    pub location: String,
    /// What happened.
    pub state: KeyState,
}

impl KeyOutcome {
    /// The status form (`status.keys[]`).
    pub fn to_status(&self) -> KeyOutcomeStatus {
        let (state, reason) = match &self.state {
            KeyState::Synced => ("Synced", None),
            KeyState::Missing { reason } => ("Missing", Some(reason.clone())),
            KeyState::Failed { reason } => ("Failed", Some(reason.clone())),
        };
        KeyOutcomeStatus {
            key: self.key.clone(),
            state: state.to_string(),
            reason,
        }
    }
}

/// What one generator entry produced that must be kept to renew or clean up later (a lease,
/// a certificate's expiry; never a credential).
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedState {
    /// The `spec.dataFrom` index of the entry.
    pub index: usize,
    /// The entry's `generatorRef`.
    pub reference: secretsync_model::external_secret::GeneratorRef,
    /// The resolved generator ([`GeneratorSpec::to_resource`]), so the state can be renewed or
    /// cleaned up even after the generator object changed or was deleted.
    ///
    /// [`GeneratorSpec::to_resource`]: secretsync_model::generator::GeneratorSpec::to_resource
    pub resource: serde_json::Value,
    /// The generator's state.
    pub state: serde_json::Value,
}

/// Everything one sync produced.
#[derive(Clone, Debug)]
pub struct SyncOutcome {
    /// The decision, or the first error in ESO's order.
    pub result: Result<SyncResult, EngineError>,
    /// Per key / entry outcomes in spec order (`dataFrom[]` first, then `data[]`).
    pub keys: Vec<KeyOutcome>,
    /// Provider reads this sync asked for (before coalescing).
    pub reads: u64,
    /// Entries served by the fallback store because their store was unavailable
    /// (`spec.data[0] from ClusterSecretStore aws`).
    pub fallbacks: Vec<String>,
    /// The states of the generator entries that produced one (in `dataFrom` order).
    pub generated: Vec<GeneratedState>,
}

impl SyncOutcome {
    /// True when the sync succeeded but some remote secrets were missing and skipped.
    pub fn is_partial(&self) -> bool {
        self.result.is_ok()
            && self
                .keys
                .iter()
                .any(|k| !matches!(k.state, KeyState::Synced))
    }

    /// Status rows for `status.keys`.
    pub fn key_statuses(&self) -> Vec<KeyOutcomeStatus> {
        self.keys.iter().map(KeyOutcome::to_status).collect()
    }
}
