//! Fallback stores (beyond ESO): an ExternalSecret annotated
//! `secretsync.io/fallback-store: ClusterSecretStore/aws` (or `SecretStore/name`, or just a
//! SecretStore's name) has every entry whose store is *unavailable* — network, sealed, 5xx,
//! throttled past its retries — read again from that store. A SecretStore or
//! ClusterSecretStore may carry the same annotation: it names the fallback of every entry
//! reading that store, unless the ExternalSecret names its own (the ExternalSecret's wins).
//! Never on "not found" or "denied", never for generators; the primary is tried first on every
//! sync.

use secretsync_model::external_secret::{ExternalSecret, SecretStoreRef, StoreKind};
use secretsync_model::{ProviderError, StoreId};

use super::{Entry, EntryResult, SyncCtx};
use crate::env::SyncEnvironment;
use crate::error::{EngineError, StoreFailure};

/// The opt-in annotation on an ExternalSecret, a SecretStore or a ClusterSecretStore.
pub const ANNOTATION: &str = "secretsync.io/fallback-store";

/// The fallback store an ExternalSecret names, if any; an error names the annotation and
/// what was expected.
pub fn fallback_ref(es: &ExternalSecret) -> Result<Option<SecretStoreRef>, String> {
    es.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION))
        .map(|v| parse(v))
        .transpose()
}

/// Parses the annotation's value: `SecretStore/<name>`, `ClusterSecretStore/<name>` or a
/// SecretStore's name.
pub fn parse(value: &str) -> Result<SecretStoreRef, String> {
    let value = value.trim();
    let (kind, name) = match value.split_once('/') {
        Some(("SecretStore", name)) => (StoreKind::SecretStore, name),
        Some(("ClusterSecretStore", name)) => (StoreKind::ClusterSecretStore, name),
        Some(_) => {
            return Err(format!(
                "metadata.annotations[{ANNOTATION}]: expected SecretStore/<name>, ClusterSecretStore/<name> or a SecretStore name"
            ));
        }
        None => (StoreKind::SecretStore, value),
    };
    if name.is_empty() {
        return Err(format!(
            "metadata.annotations[{ANNOTATION}]: expected a store name"
        ));
    }
    Ok(SecretStoreRef {
        name: name.to_string(),
        kind,
    })
}

/// Whether `error` means the store could not serve at all (so a fallback may).
pub fn is_unavailable(error: &EngineError) -> bool {
    let provider = |e: &ProviderError| {
        matches!(
            e,
            ProviderError::Unavailable(_) | ProviderError::Throttled { .. }
        )
    };
    match error {
        EngineError::Provider { error, .. } => provider(error),
        EngineError::Store { cause, .. } => match cause {
            StoreFailure::Unavailable => true,
            StoreFailure::Provider(e) => provider(e),
            StoreFailure::NotFound | StoreFailure::Refused => false,
        },
        _ => false,
    }
}

/// The store an entry fell back to, for status and events.
pub fn describe(reference: &SecretStoreRef, namespace: &str) -> String {
    StoreId {
        kind: reference.kind,
        namespace: (reference.kind == StoreKind::SecretStore).then(|| namespace.to_string()),
        name: reference.name.clone(),
    }
    .to_string()
}

/// The fallback pass of one sync: every entry whose result says its store was unavailable is
/// read again from its fallback store (the ExternalSecret's, else its store's). Returns, per
/// entry, `spec.data[0] from SecretStore ns/backup` when the fallback served it.
pub(super) async fn serve_unavailable(
    ctx: &SyncCtx<'_>,
    es: &ExternalSecret,
    own: Option<&SecretStoreRef>,
    entries: &[Entry<'_>],
    results: &mut [EntryResult],
) -> Vec<Option<String>> {
    let mut served = vec![None; entries.len()];
    for ((entry, result), served) in entries.iter().zip(results.iter_mut()).zip(&mut served) {
        if matches!(entry, Entry::Generate(..)) || !result.as_ref().is_err_and(is_unavailable) {
            continue;
        }
        let fallback = match own {
            Some(f) => f.clone(),
            None => match store_fallback(ctx, es, entry).await {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) => {
                    *result = Err(e);
                    continue;
                }
            },
        };
        let on_fallback = SyncCtx::new(
            ctx.engine,
            ctx.env,
            ctx.namespace,
            ctx.object,
            Some(fallback.clone()),
        );
        let retried = on_fallback.run_entry(es, entry).await;
        if retried.is_ok() {
            *result = retried;
            *served = Some(format!(
                "{} from {}",
                entry.location(),
                describe(&fallback, ctx.namespace)
            ));
        }
    }
    served
}

/// The fallback the store of `entry` names in its annotation, if any.
async fn store_fallback(
    ctx: &SyncCtx<'_>,
    es: &ExternalSecret,
    entry: &Entry<'_>,
) -> Result<Option<SecretStoreRef>, EngineError> {
    let Some(store) = ctx.store_ref(es, entry.store_ref(es)) else {
        return Ok(None);
    };
    let env: &dyn SyncEnvironment = ctx.env;
    let Some(value) = env.store_fallback(ctx.namespace, store).await else {
        return Ok(None);
    };
    parse(&value)
        .map(Some)
        .map_err(|message| EngineError::Value {
            object: ctx.object.to_string(),
            location: entry.location(),
            message: format!("{} {}: {message}", store.kind, store.name),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_names_a_store() {
        let es = |value: Option<&str>| {
            let mut es = ExternalSecret::default();
            if let Some(v) = value {
                es.metadata.annotations = Some([(ANNOTATION.to_string(), v.to_string())].into());
            }
            es
        };
        let store = |kind, name: &str| {
            Ok(Some(SecretStoreRef {
                kind,
                name: name.into(),
            }))
        };
        let cases = [
            (None, Ok(None)),
            (Some("aws"), store(StoreKind::SecretStore, "aws")),
            (
                Some("SecretStore/aws"),
                store(StoreKind::SecretStore, "aws"),
            ),
            (
                Some(" ClusterSecretStore/azure "),
                store(StoreKind::ClusterSecretStore, "azure"),
            ),
        ];
        for (value, want) in cases {
            assert_eq!(fallback_ref(&es(value)), want, "{value:?}");
        }
        for bad in ["Pod/x", "ClusterSecretStore/", ""] {
            let err = fallback_ref(&es(Some(bad))).expect_err(bad);
            assert!(err.contains(ANNOTATION), "{err}");
        }
    }

    #[test]
    fn only_unavailability_falls_back() {
        let provider = |error| EngineError::Provider {
            object: "o".into(),
            location: "l".into(),
            store: "s".into(),
            request: "r".into(),
            error,
        };
        let store = |cause| EngineError::Store {
            object: "o".into(),
            location: "l".into(),
            store: "s".into(),
            message: "m".into(),
            cause,
        };
        let cases = [
            (provider(ProviderError::Unavailable("sealed".into())), true),
            (
                provider(ProviderError::Throttled {
                    message: "429".into(),
                    retry_after: None,
                }),
                true,
            ),
            (provider(ProviderError::NotFound("k".into())), false),
            (provider(ProviderError::PermissionDenied("k".into())), false),
            (provider(ProviderError::BadResponse("k".into())), false),
            (store(StoreFailure::Unavailable), true),
            (
                store(StoreFailure::Provider(ProviderError::Unavailable(
                    "x".into(),
                ))),
                true,
            ),
            (store(StoreFailure::NotFound), false),
            (store(StoreFailure::Refused), false),
        ];
        for (error, want) in cases {
            assert_eq!(is_unavailable(&error), want, "{error:?}");
        }
    }
}
