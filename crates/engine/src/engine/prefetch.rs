//! [`Engine::prefetch`]: the plain reads of many ExternalSecrets, planned before they sync.

use std::collections::HashMap;

use futures::future::join_all;
use secretsync_model::FetchRequest;
use secretsync_model::external_secret::{ExternalSecret, SecretStoreRef};
use secretsync_model::provider::StoreContext;

use super::{Engine, SyncCtx};
use crate::env::SyncEnvironment;
use crate::fetch::StoreHandle;
use crate::validation::validate_spec;

impl Engine {
    /// Reads ahead every `spec.data[]` and `dataFrom[].extract` value that `external_secrets`
    /// will read from stores whose provider batches (AWS: `BatchGetSecretValue`,
    /// `GetParameters`), one `fetch_many` per store, so a run over many ExternalSecrets sends
    /// full batches instead of whatever happens to be in flight together. The syncs that
    /// follow are served from the fetch layer's coalescing, so the window
    /// ([`FetchConfig::coalesce_window`](crate::fetch::FetchConfig)) must cover them (the
    /// one-shot CLI sets it to its run). Nothing is reported here: an invalid spec, an
    /// unresolved store or a failed read is left for the sync, which reports it. Returns the
    /// number of reads sent.
    pub async fn prefetch<'e>(
        &self,
        external_secrets: impl IntoIterator<Item = &'e ExternalSecret>,
        env: &dyn SyncEnvironment,
    ) -> usize {
        let mut planned: HashMap<StoreContext, (StoreHandle, Vec<FetchRequest>)> = HashMap::new();
        // One context per namespace: its store cache resolves each store once per namespace,
        // not once per ExternalSecret (a cluster lookup each).
        let mut by_namespace: HashMap<&str, Vec<&ExternalSecret>> = HashMap::new();
        for es in external_secrets {
            if validate_spec(&es.spec).is_empty() {
                let namespace = es.metadata.namespace.as_deref().unwrap_or("default");
                by_namespace.entry(namespace).or_default().push(es);
            }
        }
        for (namespace, members) in by_namespace {
            let object = format!("{namespace} (read planning)");
            let ctx = SyncCtx::new(self, env, namespace, &object, None);
            for (es, (store_ref, request)) in members
                .iter()
                .flat_map(|es| plain_reads(es).into_iter().map(move |r| (*es, r)))
            {
                let Ok(store) = ctx.entry_store(es, store_ref, "prefetch").await else {
                    continue;
                };
                if !store.capabilities().batch {
                    continue;
                }
                planned
                    .entry(store.context().clone())
                    .or_insert_with(|| (store, Vec::new()))
                    .1
                    .push(request);
            }
        }
        join_all(
            planned.into_values().map(|(store, requests)| async move {
                self.fetch.prefetch(&store, requests).await
            }),
        )
        .await
        .into_iter()
        .sum()
    }
}

/// The single-value reads of `es`, each with the store reference of its entry (`None`: the
/// ExternalSecret's `secretStoreRef`).
fn plain_reads(es: &ExternalSecret) -> Vec<(Option<&SecretStoreRef>, FetchRequest)> {
    let data = es.spec.data.iter().map(|d| {
        (
            d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
            FetchRequest::from_remote_ref(&d.remote_ref),
        )
    });
    let extracts = es.spec.data_from.iter().filter_map(|df| {
        let extract = df.extract.as_ref()?;
        Some((
            df.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
            FetchRequest::from_remote_ref(extract),
        ))
    });
    data.chain(extracts).collect()
}
