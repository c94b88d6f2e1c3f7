//! The event recorder against the Kubernetes API double: a new message is a new Event (ESO's
//! recorder keeps them apart), the same message again only counts up the Event's series.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use kube::runtime::events::EventType;
use secretsync_kube::events::EventRecorder;
use support::{Cluster, crd_dir};

#[tokio::test]
async fn each_message_is_its_own_event_and_repeats_count_up() {
    let cluster = Cluster::start(crd_dir()).await;
    let ns = cluster.namespace.clone();
    let regarding = ObjectReference {
        api_version: Some("external-secrets.io/v1".into()),
        kind: Some("ExternalSecret".into()),
        name: Some("web".into()),
        namespace: Some(ns.clone()),
        uid: Some("uid-web".into()),
        ..Default::default()
    };
    let recorder = EventRecorder::new(cluster.client.clone(), "external-secrets");
    for note in [
        "store fake is not ready",
        "conflict: Secret exists",
        "conflict: Secret exists",
    ] {
        recorder
            .publish(
                &regarding,
                EventType::Warning,
                "UpdateFailed",
                "Reconcile",
                note,
            )
            .await
            .unwrap();
    }
    let events = Api::<Event>::namespaced(cluster.client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let mut seen: Vec<(String, Option<i32>)> = events
        .iter()
        .map(|e| {
            assert_eq!(e.reason.as_deref(), Some("UpdateFailed"));
            assert_eq!(e.type_.as_deref(), Some("Warning"));
            assert_eq!(
                e.regarding.as_ref().and_then(|r| r.uid.as_deref()),
                Some("uid-web")
            );
            (
                e.note.clone().unwrap_or_default(),
                e.series.as_ref().map(|s| s.count),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("conflict: Secret exists".to_string(), Some(2)),
            ("store fake is not ready".to_string(), None),
        ]
    );
}
