//! The status record: ConfigMap `secretsync-bootstrap` in the operator's namespace, one key per
//! phase holding the fingerprint of the configuration whose checks passed, and when. It holds
//! no secret.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::plan::Phase;

/// Name of the record ConfigMap.
pub const RECORD: &str = "secretsync-bootstrap";

/// The record's data (empty when absent).
pub async fn read(
    client: &kube::Client,
    namespace: &str,
) -> Result<BTreeMap<String, String>, kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .get_opt(RECORD)
        .await?
        .and_then(|c| c.data)
        .unwrap_or_default())
}

/// Records that `phase`'s checks passed for `fingerprint` (its own field manager per phase,
/// so phases never remove each other's keys).
pub async fn write(
    client: &kube::Client,
    namespace: &str,
    phase: Phase,
    fingerprint: &str,
) -> Result<(), kube::Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": RECORD, "namespace": namespace},
        "data": {
            phase.name(): fingerprint,
            format!("{}.verifiedAt", phase.name()): now,
        }
    });
    let manager = format!("{}-{}", crate::cluster::FIELD_MANAGER, phase.name());
    api.patch(
        RECORD,
        &PatchParams::apply(&manager).force(),
        &Patch::Apply(body),
    )
    .await
    .map(drop)
}
