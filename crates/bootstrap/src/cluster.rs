//! The Kubernetes side: read and server-side apply the bootstrapper's objects, wait for CRDs.

use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use serde_json::Value;

use crate::plan::KubeObject;

/// Field manager of everything the bootstrapper applies.
pub const FIELD_MANAGER: &str = "secretsync-bootstrap";
/// How long a new CRD may take to be established.
const CRD_DEADLINE: Duration = Duration::from_secs(60);

fn collection(obj: &KubeObject) -> String {
    let url = obj.url();
    url[..url.len() - obj.name.len() - 1].to_string()
}

/// The live object, or None when it (or its kind) does not exist.
pub async fn get(client: &kube::Client, obj: &KubeObject) -> Result<Option<Value>, kube::Error> {
    let request = kube::core::Request::new(collection(obj))
        .get(&obj.name, &Default::default())
        .map_err(kube::Error::BuildRequest)?;
    match client.request::<Value>(request).await {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Server-side applies `obj` (forcing ownership of its fields).
pub async fn apply(client: &kube::Client, obj: &KubeObject) -> Result<Value, kube::Error> {
    let request = kube::core::Request::new(collection(obj))
        .patch(
            &obj.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&obj.body),
        )
        .map_err(kube::Error::BuildRequest)?;
    client.request::<Value>(request).await
}

/// Sends a JSON patch (RFC 6902) of `obj` as field manager [`FIELD_MANAGER`]: an update that
/// owns only the fields it changes (no server-side apply of the whole object), and fails as a
/// whole when one of its `test` operations does.
pub async fn json_patch(
    client: &kube::Client,
    obj: &KubeObject,
    ops: &Value,
) -> Result<Value, kube::Error> {
    let body = serde_json::to_vec(ops).map_err(kube::Error::SerdeError)?;
    let request = http::Request::patch(format!("{}?fieldManager={FIELD_MANAGER}", obj.url()))
        .header(http::header::CONTENT_TYPE, "application/json-patch+json")
        .header(http::header::ACCEPT, "application/json")
        .body(body)
        .map_err(|e| kube::Error::BuildRequest(kube::core::request::Error::BuildRequest(e)))?;
    client.request::<Value>(request).await
}

/// Waits until the CRD `obj` is `Established`.
pub async fn wait_established(client: &kube::Client, obj: &KubeObject) -> Result<(), String> {
    let deadline = Instant::now() + CRD_DEADLINE;
    loop {
        let live = get(client, obj).await.map_err(|e| e.to_string())?;
        let established = live.as_ref().is_some_and(|v| {
            v["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            })
        });
        if established {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "CRD {} not established after {}s",
                obj.name,
                CRD_DEADLINE.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
