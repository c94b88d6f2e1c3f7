//! The controller of a cluster-scoped kind that fans out into namespaced children
//! (ClusterExternalSecret → ExternalSecrets, ClusterPushSecret → PushSecrets): the parents'
//! cache and watch, the children's (metadata only; owned, so a changed or deleted child
//! reconciles its parent) and the namespaces' (metadata only; a namespace created, deleted or
//! relabelled may change which namespaces every parent selects, so it reconciles them all).

use std::fmt::Debug;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt, TryFuture};
use k8s_openapi::api::core::v1::Namespace;
use kube::Resource;
use kube::api::Api;
use kube::core::{ClusterResourceScope, NamespaceResourceScope, PartialObjectMeta};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;

use super::{Context, ReconcileError};
use crate::lifecycle::{CancellationToken, InitialLists};
use crate::metrics::eso::ObjectKind;

/// Runs the controller of parent kind `P` with children of kind `C`, stopping gracefully on
/// `shutdown`; its cache and watches join `lists`.
pub(crate) fn run<P, C, Fut>(
    ctx: Arc<Context>,
    lists: &mut InitialLists,
    shutdown: CancellationToken,
    kind: ObjectKind,
    reconcile: fn(Arc<P>, Arc<Context>) -> Fut,
    error_policy: fn(Arc<P>, &ReconcileError, Arc<Context>) -> Action,
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
    let children = touched_metadata::<C>(lists, &ctx.client);
    let namespaces = touched_metadata::<Namespace>(lists, &ctx.client);
    super::track_liveness(&ctx, kind, reader.clone());
    controller
        .with_config(controller::Config::default().concurrency(ctx.config.concurrency.max(1)))
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .owns_stream(children)
        .watches_stream(namespaces, move |_: PartialObjectMeta<Namespace>| {
            reader
                .state()
                .iter()
                .map(|parent| ObjectRef::from_obj(parent.as_ref()))
                .collect::<Vec<_>>()
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .boxed()
}

/// The objects of kind `K` in every namespace that were created, changed or deleted, metadata
/// only; the watch joins `lists`.
fn touched_metadata<K>(
    lists: &mut InitialLists,
    client: &kube::Client,
) -> impl Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    lists
        .watch(
            watcher(
                Api::<PartialObjectMeta<K>>::all(client.clone()),
                watcher::Config::default(),
            )
            .default_backoff(),
        )
        .touched_objects()
}
