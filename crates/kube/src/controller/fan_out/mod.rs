//! The controller of a cluster-scoped kind that fans out into namespaced children
//! (ClusterExternalSecret → ExternalSecrets, ClusterPushSecret → PushSecrets): the parents'
//! cache and watch, the children's (metadata only; owned, so a changed or deleted child
//! reconciles its parent) and the namespaces' (metadata only, kept in the cache a pass reads
//! instead of listing them; a namespace created, deleted or relabelled may change which
//! namespaces every parent selects, so it reconciles them all);
//! the measured reconcile, the refresh interval and the status patch the two kinds share; and
//! one pass over the namespaces ([`children`]).

mod children;

pub(crate) use children::{ChildTemplate, Provisioned, any_selects, provision};

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryFuture};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{ClusterResourceScope, NamespaceResourceScope, PartialObjectMeta};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use secretsync_model::duration::parse_go_duration;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Context, ReconcileError};
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;
use crate::metrics::runtime::ReconcileResult;

/// Runs the controller of parent kind `P` with children of kind `C`, stopping gracefully on
/// `shutdown`; its cache and watches join `lists`.
pub(crate) fn run<P, C, Fut>(
    ctx: Arc<Context>,
    lists: &mut InitialLists,
    shutdown: CancellationToken,
    kind: ObjectKind,
    reconcile: fn(Arc<P>, Arc<FanOutContext>) -> Fut,
    error_policy: fn(Arc<P>, &ReconcileError, Arc<FanOutContext>) -> Action,
) -> BoxFuture<'static, ()>
where
    P: Resource<DynamicType = (), Scope = ClusterResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    C: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    Fut: TryFuture<Ok = Action, Error = ReconcileError> + Send + 'static,
{
    let controller = Controller::new(
        Api::<P>::all(ctx.client.clone()),
        watcher::Config::default(),
    );
    let reader = controller.store();
    lists.store(reader.clone());
    let children = lists
        .watch(
            watcher(
                Api::<PartialObjectMeta<C>>::all(ctx.client.clone()),
                watcher::Config::default(),
            )
            .default_backoff(),
        )
        .touched_objects();
    let (namespace_cache, namespace_writer) = reflector::store();
    let namespaces = lists
        .watch(reflector(
            namespace_writer,
            watcher(
                Api::<PartialObjectMeta<Namespace>>::all(ctx.client.clone()),
                watcher::Config::default(),
            )
            .default_backoff()
            .modify(|ns| ns.managed_fields_mut().clear()),
        ))
        .touched_objects();
    super::track_liveness(&ctx, kind, reader.clone());
    let concurrency = ctx.config.concurrency.max(1);
    let fan_out_ctx = Arc::new(FanOutContext {
        ctx,
        namespaces: namespace_cache,
    });
    controller
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .owns_stream(children)
        .watches_stream(namespaces, move |_: PartialObjectMeta<Namespace>| {
            reader
                .state()
                .iter()
                .map(|parent| ObjectRef::from_obj(parent.as_ref()))
                .collect::<Vec<_>>()
        })
        .run(reconcile, error_policy, fan_out_ctx)
        .for_each(|_| futures::future::ready(()))
        .boxed()
}

/// How soon a pass that found the namespace cache not yet listed runs again.
pub(crate) const NAMESPACES_NOT_LISTED_RETRY: Duration = Duration::from_secs(1);

/// What a fan-out controller's reconcile reads: the operator's context, and the namespaces
/// (metadata) from this controller's own watch, which also triggers it; a pass therefore sees
/// at least the namespace change that triggered it, without a LIST per reconcile.
pub(crate) struct FanOutContext {
    /// The operator's context.
    pub ctx: Arc<Context>,
    /// Every namespace (metadata).
    pub namespaces: Store<PartialObjectMeta<Namespace>>,
}

/// One measured reconcile of `parent`: controller-runtime's figures under `controller` and
/// ESO's `<kind>_reconcile_duration`; a parent being deleted has its series dropped instead.
pub(crate) async fn measured<P>(
    parent: &P,
    ctx: &Context,
    kind: ObjectKind,
    controller: &'static str,
    provision: impl Future<Output = Result<Action, ReconcileError>>,
) -> Result<Action, ReconcileError>
where
    P: Resource,
{
    let working = ctx.metrics.runtime.queued(controller).start();
    let started = Instant::now();
    let result = provision.await;
    if parent.meta().deletion_timestamp.is_some() {
        ctx.metrics.forget(kind, "", &parent.name_any());
    } else {
        ctx.metrics.object_reconciled(
            kind,
            "",
            &parent.name_any(),
            started.elapsed().as_secs_f64(),
        );
    }
    working.finish(match &result {
        Ok(action) => ReconcileResult::of(false, action),
        Err(_) => ReconcileResult::error,
    });
    result
}

/// How often a parent re-applies its children: its `refreshTime` when that is a non-zero Go
/// duration, else `default` ([`crate::Config::cluster_external_secret_interval`]; ESO: 1 h).
pub(crate) fn refresh_interval(refresh_time: Option<&str>, default: Duration) -> Duration {
    refresh_time
        .and_then(|r| parse_go_duration(r).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(default)
}

/// Writes the status of a fan-out parent with a merge patch when it differs from `current`;
/// empty namespace lists are sent as `null`, so the patch clears them.
pub(crate) async fn patch_status<K, S>(
    client: &kube::Client,
    name: &str,
    current: Option<&S>,
    status: &S,
) -> Result<(), kube::Error>
where
    K: Resource<Scope = ClusterResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: serde::Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    let mut value = serde_json::to_value(status).map_err(kube::Error::SerdeError)?;
    if let serde_json::Value::Object(map) = &mut value {
        for f in ["failedNamespaces", "provisionedNamespaces"] {
            map.entry(f).or_insert(serde_json::Value::Null);
        }
    }
    Api::<K>::all(client.clone())
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": value })),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_interval_is_a_non_zero_refresh_time_or_the_default() {
        let default = Duration::from_secs(3600);
        for (refresh_time, expected) in [
            (None, default),
            (Some("10m"), Duration::from_secs(600)),
            (Some("1h30m"), Duration::from_secs(5400)),
            (Some("0s"), default),
            (Some("soon"), default),
            (Some(""), default),
        ] {
            assert_eq!(
                refresh_interval(refresh_time, default),
                expected,
                "{refresh_time:?}"
            );
        }
    }
}
