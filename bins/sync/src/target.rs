//! The ExternalSecret as the cluster holds it: its uid owns the Secret (`creationPolicy:
//! Owner`) and its status is written after a sync.

use kube::api::Api;
use secretsync_model::external_secret::ExternalSecret;

use crate::inputs::Job;

/// The cluster's copy of the job's ExternalSecret, `None` when the cluster has none.
pub async fn cluster_object(
    client: &kube::Client,
    job: &Job,
) -> Result<Option<ExternalSecret>, kube::Error> {
    if job.origin == "cluster" {
        return Ok(Some(job.es.clone()));
    }
    let namespace = job.es.metadata.namespace.clone().unwrap_or_default();
    let name = job.es.metadata.name.clone().unwrap_or_default();
    Api::<ExternalSecret>::namespaced(client.clone(), &namespace)
        .get_opt(&name)
        .await
}
