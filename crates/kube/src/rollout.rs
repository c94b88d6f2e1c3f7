//! Rollout restart on change (beyond ESO, opt-in): an ExternalSecret annotated
//! `secretsync.io/rollout-restart: deployment/web, statefulset/db, daemonset/agent` has those
//! workloads of its own namespace restarted — their pod template gets
//! `kubectl.kubernetes.io/restartedAt`, as `kubectl rollout restart` writes it — when, and only
//! when, a write changed the `data` of its existing target Secret.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

/// The opt-in annotation on an ExternalSecret.
pub const ANNOTATION: &str = "secretsync.io/rollout-restart";

/// The pod template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// A workload kind that can be restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkloadKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
    /// `apps/v1` DaemonSet.
    DaemonSet,
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
        })
    }
}

/// One workload to restart.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Workload {
    /// Its kind.
    pub kind: WorkloadKind,
    /// Its name (in the ExternalSecret's namespace).
    pub name: String,
}

/// Parses the annotation: comma-separated `kind/name` as kubectl writes them (`deployment`,
/// `deploy`, `deployments`, `statefulset`, `sts`, `daemonset`, `ds`, case-insensitive).
/// Duplicates collapse; the error names the item and what was expected.
pub fn parse(value: &str) -> Result<Vec<Workload>, String> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (kind, name) = item.split_once('/').ok_or_else(|| {
            format!("annotation {ANNOTATION}: {item:?}: expected kind/name such as deployment/web")
        })?;
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" => WorkloadKind::Deployment,
            "statefulset" | "statefulsets" | "sts" => WorkloadKind::StatefulSet,
            "daemonset" | "daemonsets" | "ds" => WorkloadKind::DaemonSet,
            _ => {
                return Err(format!(
                    "annotation {ANNOTATION}: {item:?}: expected a deployment, statefulset or daemonset"
                ));
            }
        };
        let name = name.trim();
        if !is_dns_subdomain(name) {
            return Err(format!(
                "annotation {ANNOTATION}: {item:?}: expected a workload name (DNS subdomain)"
            ));
        }
        out.push(Workload {
            kind,
            name: name.to_string(),
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Sets the restart annotation on `workload` in `namespace` to `at` (RFC 3339), as
/// `kubectl rollout restart` does (a strategic merge of the pod template's annotations).
pub async fn restart(
    client: &kube::Client,
    namespace: &str,
    workload: &Workload,
    at: &str,
) -> Result<(), kube::Error> {
    let patch = Patch::Merge(json!({
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}
    }));
    let params = PatchParams::default();
    let name = workload.name.as_str();
    match workload.kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
        WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client.clone(), namespace)
            .patch(name, &params, &patch)
            .await
            .map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: WorkloadKind, name: &str) -> Workload {
        Workload {
            kind,
            name: name.into(),
        }
    }

    #[test]
    fn annotation_values_parse_like_kubectl_names() {
        use WorkloadKind::*;
        let cases: [(&str, Result<Vec<Workload>, &str>); 8] = [
            ("", Ok(vec![])),
            ("deployment/web", Ok(vec![w(Deployment, "web")])),
            (
                " sts/db , Deploy/web,ds/agent,deployments/web ",
                Ok(vec![
                    w(Deployment, "web"),
                    w(StatefulSet, "db"),
                    w(DaemonSet, "agent"),
                ]),
            ),
            ("web", Err("expected kind/name")),
            (
                "pod/web",
                Err("expected a deployment, statefulset or daemonset"),
            ),
            ("deployment/", Err("expected a workload name")),
            ("deployment/Web", Err("expected a workload name")),
            ("deployment/../x", Err("expected a workload name")),
        ];
        for (input, want) in cases {
            match (parse(input), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{input:?}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{input:?}: {got}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
