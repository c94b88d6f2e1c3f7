//! The Helm chart `deploy/helm/secretsync`: `helm lint`; `helm template` with several value
//! sets, each applied to the cluster and checked; the chart's RBAC and Deployment are the same
//! as `deploy/`'s (cluster-wide, namespace-scoped, ha); `helm install` / `upgrade` /
//! `uninstall`; and the operator run as the chart's ServiceAccount under the chart's RBAC.
#![allow(clippy::unwrap_used, missing_docs)]

use crate::support;

use serde_json::Value;
use support::overlay::{self, assert_flags_accepted, documents};
use support::{Cluster, repo_root};

const RELEASE: &str = "secretsync";
const NAMESPACE: &str = "secretsync-system";

fn chart() -> String {
    repo_root()
        .join("deploy/helm/secretsync")
        .to_string_lossy()
        .into_owned()
}

/// `helm template` with `values` (YAML) as a values file, released in [`NAMESPACE`].
fn template(cluster: &Cluster, values: &str) -> Vec<Value> {
    template_in(cluster, values, NAMESPACE)
}

/// `helm template` with `values` (YAML) as a values file, released in `namespace`.
fn template_in(cluster: &Cluster, values: &str, namespace: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, values).unwrap();
    let chart = chart();
    let file = file.to_string_lossy();
    documents(&cluster.helm_ok(&["template", RELEASE, &chart, "-n", namespace, "-f", &file]))
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

fn has(docs: &[Value], kind: &str) -> bool {
    docs.iter().any(|d| d["kind"] == kind)
}

const EVERYTHING: &str = r#"
installCRDs: false
serviceAccount:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/secretsync
    azure.workload.identity/client-id: 00000000-0000-0000-0000-000000000001
extraArgs:
  enable-flood-gate: "false"
  refresh-jitter: "0.2"
  no-cluster-resources: true
  log-json: ""
extraEnv:
  - name: SECRETSYNC_LOG_LEVEL
    value: debug
nodeSelector:
  kubernetes.io/os: linux
tolerations:
  - key: dedicated
    operator: Exists
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels: {app.kubernetes.io/name: secretsync-operator}
priorityClassName: system-cluster-critical
resources:
  limits: {memory: 256Mi}
serviceMonitor:
  enabled: true
  additionalLabels: {release: prometheus}
grafanaDashboard:
  enabled: true
prometheusRule:
  enabled: true
  additionalLabels: {release: prometheus}
networkPolicy:
  enabled: true
podDisruptionBudget:
  minAvailable: 1
"#;

/// The smallest CRD of a prometheus-operator kind (its group and names), as a cluster with
/// prometheus-operator has it.
fn monitoring_crd(singular: &str, kind: &str) -> String {
    format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {singular}s.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {{plural: {singular}s, singular: {singular}, kind: {kind}, listKind: {kind}List}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"#
    )
}

#[test]
fn chart_lints_and_each_value_set_renders_and_applies() {
    let mut cluster = Cluster::start();
    cluster.helm_ok(&["lint", "--strict", &chart()]);
    // On a real cluster the release goes to a namespace of its own: `secretsync-system` may
    // hold an operator installed another way (deploy/, the bootstrapper), whose Deployment's
    // selector a server-side dry run of the chart's may not change (immutable).
    let namespace = if cluster.is_double() {
        cluster.apply(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NAMESPACE}}}\n"
        ));
        cluster.apply(&monitoring_crd("servicemonitor", "ServiceMonitor"));
        cluster.apply(&monitoring_crd("prometheusrule", "PrometheusRule"));
        NAMESPACE.to_string()
    } else {
        cluster.namespace("secretsync-chart")
    };
    let scoped = format!("scopedNamespace: {namespace}\nscopedRBAC: true\n");
    let sets = [
        ("defaults", ""),
        ("namespace-scoped", scoped.as_str()),
        ("ha", "replicaCount: 2\nleaderElect: true\n"),
        ("everything", EVERYTHING),
    ];
    for (name, values) in sets {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, values).unwrap();
        cluster.helm_ok(&["lint", "--strict", &chart(), "-f", &file.to_string_lossy()]);
        let docs = template_in(&cluster, values, &namespace);
        assert_flags_accepted(&docs);
        let yaml: String = docs
            .iter()
            // A real cluster may lack the Prometheus operator's CRDs (ServiceMonitor,
            // PrometheusRule); the double has them (above).
            .filter(|d| {
                cluster.is_double()
                    || !d["apiVersion"]
                        .as_str()
                        .is_some_and(|v| v.starts_with("monitoring.coreos.com/"))
            })
            .map(|d| format!("---\n{}\n", serde_json::to_string(d).unwrap()))
            .collect();
        let mut apply = vec!["apply", "-f", "-"];
        if !cluster.is_double() {
            apply.push("--dry-run=server");
        }
        let out = cluster.kubectl(&apply, Some(&yaml));
        assert!(
            out.status.success(),
            "{name}: kubectl apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pod = &overlay::deployment(&docs)["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let args = overlay::operator_args(&docs);
        match name {
            "defaults" => {
                assert_eq!(
                    docs.iter()
                        .filter(|d| d["kind"] == "CustomResourceDefinition")
                        .count(),
                    secretsync_model::crd::all().len(),
                    "every generated CRD (external-secrets.io and generators)"
                );
                assert!(has(&docs, "ClusterRole") && !has(&docs, "NetworkPolicy"));
                assert!(!has(&docs, "ServiceMonitor"));
            }
            "namespace-scoped" => {
                assert!(!has(&docs, "ClusterRole") && !has(&docs, "ClusterRoleBinding"));
                assert!(
                    args.contains(&format!("--namespace={namespace}")),
                    "{args:?}"
                );
            }
            "ha" => {
                assert_eq!(overlay::deployment(&docs)["spec"]["replicas"], 2);
                assert!(args.contains(&"--leader-elect".to_string()), "{args:?}");
            }
            _ => {
                assert!(!has(&docs, "CustomResourceDefinition"));
                let sa = find(&docs, "ServiceAccount");
                assert_eq!(
                    sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
                    "arn:aws:iam::123456789012:role/secretsync"
                );
                for flag in [
                    "--enable-flood-gate=false",
                    "--refresh-jitter=0.2",
                    "--no-cluster-resources",
                ] {
                    assert!(args.contains(&flag.to_string()), "{flag} in {args:?}");
                }
                assert!(
                    container["env"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["name"] == "SECRETSYNC_LOG_LEVEL"),
                    "{container}"
                );
                assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
                assert_eq!(pod["tolerations"][0]["key"], "dedicated");
                assert!(pod["affinity"]["podAntiAffinity"].is_object());
                assert_eq!(pod["priorityClassName"], "system-cluster-critical");
                assert_eq!(container["resources"]["limits"]["memory"], "256Mi");
                let monitor = find(&docs, "ServiceMonitor");
                assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
                assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
                let policy = find(&docs, "NetworkPolicy");
                assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], 8080);
                let pdb = &find(&docs, "PodDisruptionBudget")["spec"];
                assert_eq!(pdb["minAvailable"], 1);
                assert!(pdb.get("maxUnavailable").is_none(), "{pdb}");
            }
        }
        if cluster.is_double() {
            let deployment = cluster
                .get_json(&["deployment", "-n", NAMESPACE, "secretsync-operator"])
                .expect("the Deployment was applied");
            assert_eq!(
                deployment["spec"]["template"]["spec"]["containers"][0]["args"], container["args"],
                "{name}"
            );
        }
    }
}

/// The parts of a rendered object that must not drift from `deploy/`.
fn essence(doc: &Value) -> Value {
    let mut out = serde_json::json!({"kind": doc["kind"], "name": doc["metadata"]["name"], "namespace": doc["metadata"]["namespace"]});
    match doc["kind"].as_str().unwrap() {
        "ClusterRole" | "Role" => out["rules"] = doc["rules"].clone(),
        "ClusterRoleBinding" | "RoleBinding" => {
            out["roleRef"] = doc["roleRef"].clone();
            out["subjects"] = doc["subjects"].clone();
        }
        "Deployment" => {
            let pod = &doc["spec"]["template"]["spec"];
            let mut container = pod["containers"][0].clone();
            container.as_object_mut().unwrap().remove("image");
            out["replicas"] = doc["spec"]["replicas"].clone();
            out["serviceAccountName"] = pod["serviceAccountName"].clone();
            out["securityContext"] = pod["securityContext"].clone();
            out["container"] = container;
        }
        "Service" => out["ports"] = doc["spec"]["ports"].clone(),
        "PodDisruptionBudget" => out["maxUnavailable"] = doc["spec"]["maxUnavailable"].clone(),
        "ServiceAccount" => {}
        _ => return Value::Null,
    }
    out
}

/// `v` with every object's keys sorted (kustomize and helm order keys differently).
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: std::collections::BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn essentials(docs: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = docs
        .iter()
        .map(essence)
        .filter(|v| !v.is_null())
        .map(|v| canonical(&v))
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

#[test]
fn chart_rbac_and_deployment_are_the_same_as_deploy() {
    let cluster = Cluster::start_bare();
    for (overlay_name, values) in [
        ("cluster-wide", ""),
        (
            "namespace-scoped",
            "scopedNamespace: secretsync-system\nscopedRBAC: true\n",
        ),
        ("ha", "replicaCount: 2\nleaderElect: true\n"),
    ] {
        let kustomized = essentials(&overlay::build(&cluster, overlay_name));
        let chart = essentials(&template(&cluster, values));
        assert_eq!(
            serde_json::to_string_pretty(&chart).unwrap(),
            serde_json::to_string_pretty(&kustomized).unwrap(),
            "the chart ({values:?}) differs from deploy/overlays/{overlay_name}"
        );
    }
}

#[test]
fn helm_install_upgrade_and_uninstall() {
    let cluster = Cluster::start_bare();
    let suffix = format!("{:08x}", support::rand_u32());
    let (release, namespace) = if cluster.is_double() {
        (RELEASE.to_string(), NAMESPACE.to_string())
    } else {
        (format!("secretsync-{suffix}"), format!("helm-{suffix}"))
    };
    let chart = chart();
    let mut install = vec![
        "install",
        &release,
        &chart,
        "-n",
        &namespace,
        "--create-namespace",
    ];
    // A real cluster keeps the CRDs it has; the double gets them from the chart.
    if !cluster.is_double() {
        install.extend(["--set", "installCRDs=false"]);
    }
    cluster.helm_ok(&install);
    let operator = format!("{release}-operator");
    let deployment = cluster
        .get_json(&["deployment", "-n", &namespace, &operator])
        .expect("the chart's Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert!(cluster.get_json(&["clusterrole", &operator]).is_some());
    for crd in [
        "externalsecrets.external-secrets.io",
        "secretstores.external-secrets.io",
        "clustersecretstores.external-secrets.io",
        "clusterexternalsecrets.external-secrets.io",
    ] {
        let found = cluster.get_json(&["crd", crd]).expect("CRD installed");
        if cluster.is_double() {
            assert_eq!(
                found["metadata"]["annotations"]["helm.sh/resource-policy"],
                "keep"
            );
        }
    }

    cluster.helm_ok(&[
        "upgrade",
        &release,
        &chart,
        "-n",
        &namespace,
        "--reuse-values",
        "--set",
        "replicaCount=2",
        "--set",
        "leaderElect=true",
        "--set",
        "serviceAccount.annotations.azure\\.workload\\.identity/client-id=abc",
    ]);
    let deployment = cluster
        .get_json(&["deployment", "-n", &namespace, &operator])
        .unwrap();
    assert_eq!(deployment["spec"]["replicas"], 2);
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--leader-elect"), "{args}");
    let sa = cluster
        .get_json(&["serviceaccount", "-n", &namespace, &release])
        .unwrap();
    assert_eq!(
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"],
        "abc"
    );
    let history = cluster.helm_ok(&["history", &release, "-n", &namespace, "-o", "json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");

    cluster.helm_ok(&["uninstall", &release, "-n", &namespace]);
    assert!(
        cluster
            .get_json(&["deployment", "-n", &namespace, &operator])
            .is_none()
    );
    assert!(cluster.get_json(&["clusterrole", &operator]).is_none());
    assert!(
        cluster
            .get_json(&["serviceaccount", "-n", &namespace, &release])
            .is_none()
    );
    let releases = cluster.kubectl_ok(&[
        "get",
        "secrets",
        "-n",
        &namespace,
        "-l",
        "owner=helm",
        "-o",
        "name",
    ]);
    assert!(
        releases.trim().is_empty(),
        "Helm's release Secrets are purged: {releases}"
    );
    assert!(
        cluster
            .get_json(&["crd", "externalsecrets.external-secrets.io"])
            .is_some(),
        "uninstall keeps the CRDs (and with them every ExternalSecret)"
    );
    if !cluster.is_double() {
        cluster.kubectl_ok(&["delete", "namespace", &namespace, "--wait=false"]);
    }
}

/// `helm install` with `values`, then the operator runs as the chart's ServiceAccount with the
/// chart's arguments under the chart's RBAC.
fn run_under_chart(cluster: &mut Cluster, release: &str, namespace: &str, sets: &[String]) {
    let chart = chart();
    let mut install: Vec<&str> = vec![
        "install",
        release,
        &chart,
        "-n",
        namespace,
        "--create-namespace",
        "--set",
        "installCRDs=false",
    ];
    for s in sets {
        install.extend(["--set", s.as_str()]);
    }
    cluster.helm_ok(&install);
    let docs = documents(&cluster.helm_ok(&["get", "manifest", release, "-n", namespace]));
    overlay::run_as_service_account(cluster, &docs, &format!("chart {sets:?}"));
    cluster.helm_ok(&["uninstall", release, "-n", namespace]);
}

#[test]
fn operator_runs_under_the_charts_cluster_wide_rbac() {
    let mut cluster = Cluster::start();
    let suffix = format!("{:08x}", support::rand_u32());
    let namespace = format!("secretsync-{suffix}");
    run_under_chart(
        &mut cluster,
        &format!("secretsync-{suffix}"),
        &namespace,
        &[],
    );
    if !cluster.is_double() {
        cluster.kubectl_ok(&["delete", "namespace", &namespace, "--wait=false"]);
    }
}

#[test]
fn operator_runs_under_the_charts_namespace_scoped_rbac() {
    let mut cluster = Cluster::start();
    let suffix = format!("{:08x}", support::rand_u32());
    // The served namespace is not the operator's own: the drift-key Secret and the Lease live
    // in the operator's namespace, the rest in the served one.
    let served = cluster.namespace("scoped");
    let namespace = format!("secretsync-{suffix}");
    run_under_chart(
        &mut cluster,
        &format!("secretsync-{suffix}"),
        &namespace,
        &[
            format!("scopedNamespace={served}"),
            "scopedRBAC=true".into(),
        ],
    );
    if !cluster.is_double() {
        cluster.kubectl_ok(&["delete", "namespace", &namespace, "--wait=false"]);
    }
}
