//! Carrying out a push against one store: the async half of [`super`], shared by the operator
//! and the CLI (no Kubernetes client: stores come from a [`SyncEnvironment`]).

use std::collections::BTreeMap;

use secretsync_model::external_secret::{SecretStoreRef, StoreKind};
use secretsync_model::provider::StoreContext;
use secretsync_model::push_secret::{PushSecretData, PushSecretUpdatePolicy};
use secretsync_model::writer::{DeleteOutcome, PushOutcome, PushRequest};

use super::{EntryAction, PlannedPush, entry_action, needs_remote_state, status_key};
use crate::env::SyncEnvironment;
use crate::fetch::{FetchLayer, StoreHandle};

/// A store's provider, opened for writing: a handle on the provider `providers` caches for the
/// store and namespace (shared with the ExternalSecrets reading that store; not closed after a
/// push, the layer closes it when the store changes or on shutdown).
pub struct OpenStore {
    /// The cached provider.
    pub provider: StoreHandle,
    /// `Kind/name`, for messages and `syncedPushSecrets`.
    pub key: String,
}

/// Resolves a store for a PushSecret in `namespace` (ESO's namespace and controller-class
/// rules, through the host) and gets its provider from `providers` (built on first use,
/// rebuilt when the store's spec changed); fails when the provider cannot write.
pub async fn open_store(
    providers: &FetchLayer,
    env: &dyn SyncEnvironment,
    namespace: &str,
    kind: StoreKind,
    name: &str,
) -> Result<OpenStore, String> {
    let key = super::store_key(kind, name);
    let reference = SecretStoreRef {
        name: name.to_string(),
        kind,
    };
    let resolved = env
        .store(namespace, &reference)
        .await
        .map_err(|e| e.message)?;
    let context = StoreContext {
        store: resolved.id.clone(),
        reader_namespace: Some(namespace.to_string()),
    };
    let provider = providers
        .provider(&context, &resolved.spec, |c| env.credentials(c))
        .await
        .map_err(|e| format!("{key}: {e}"))?;
    if provider.writer().is_none() {
        return Err(format!(
            "{key}: the store's provider cannot write (PushSecret needs vault, openBao, aws or azurekv)"
        ));
    }
    Ok(OpenStore { provider, key })
}

/// What pushing to one store did.
#[derive(Debug, Default)]
pub struct StorePush {
    /// Entries pushed or found present (`IfNotExists`), by [`status_key`].
    pub synced: BTreeMap<String, PushSecretData>,
    /// Remote values written (created or updated).
    pub written: usize,
    /// The first failure: `(status key, message)`; entries after it were not tried.
    pub error: Option<String>,
}

/// Pushes `planned` to `store` under `policy`, in order, stopping at the first failure (as ESO).
pub async fn push_to_store(
    store: &OpenStore,
    planned: &[PlannedPush],
    policy: PushSecretUpdatePolicy,
) -> StorePush {
    let mut out = StorePush::default();
    let Some(writer) = store.provider.writer() else {
        out.error = Some(format!("{}: the store's provider cannot write", store.key));
        return out;
    };
    for p in planned {
        let key = status_key(p.remote());
        let state = if needs_remote_state(policy) {
            match writer.remote_state(p.remote()).await {
                Ok(s) => Some(s),
                Err(e) => {
                    out.error = Some(format!(
                        "could not verify if remote key {key:?} exists in {}: {e}",
                        store.key
                    ));
                    return out;
                }
            }
        } else {
            None
        };
        if entry_action(policy, state) == EntryAction::Push {
            let request = PushRequest {
                remote: p.remote(),
                value: &p.value,
                metadata: p.entry.metadata.as_ref(),
            };
            match writer.push(&request).await {
                Ok(PushOutcome::Created | PushOutcome::Updated) => out.written += 1,
                Ok(PushOutcome::Unchanged) => {}
                Err(e) => {
                    out.error = Some(format!(
                        "could not write remote ref {key:?} to {}: {e}",
                        store.key
                    ));
                    return out;
                }
            }
        }
        out.synced.insert(key, p.entry.clone());
    }
    out
}

/// Deletes one pushed entry; a remote not managed by secretsync or ESO is left alone.
pub async fn delete_from_store(
    store: &OpenStore,
    entry: &PushSecretData,
) -> Result<DeleteOutcome, String> {
    let Some(writer) = store.provider.writer() else {
        return Err(format!("{}: the store's provider cannot write", store.key));
    };
    let key = status_key(&entry.match_.remote_ref);
    writer.delete(&entry.match_.remote_ref).await.map_err(|e| {
        format!(
            "could not delete remote ref {key:?} from {}: {e}",
            store.key
        )
    })
}
