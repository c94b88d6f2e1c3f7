//! `operator.install`: the operator's own manifests (from `deploy/`), installed in phase 1 as
//! ordinary desired objects, so they are planned, applied, re-checked and re-applied like the
//! stores are. The path is a YAML file (one or more documents: `kubectl kustomize` or
//! `helm template` output) or a kustomization directory, rendered with `kubectl kustomize`
//! (`$KUBECTL`, else `kubectl` on `PATH`); nothing else is run and nothing is fetched.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::context::SetupError;

/// Upper bound on the rendered manifests (the deploy/ overlays are ~600 KiB with the CRDs).
const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// Reads the operator's manifests at `path` (file or kustomization directory).
pub fn load(path: &str) -> Result<Vec<Value>, SetupError> {
    let field = "operator.install";
    let text = if Path::new(path).is_dir() {
        let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
        let out = std::process::Command::new(&kubectl)
            .args(["kustomize", path])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                SetupError(format!(
                    "{field}: running `{kubectl} kustomize {path}`: {e} (set KUBECTL or install kubectl)"
                ))
            })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(SetupError(format!(
                "{field}: `{kubectl} kustomize {path}` failed: {}",
                stderr.trim()
            )));
        }
        String::from_utf8(out.stdout)
            .map_err(|_| SetupError(format!("{field}: {path}: the rendered YAML is not UTF-8")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| SetupError(format!("{field}: reading {path}: {e}")))?
    };
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(SetupError(format!(
            "{field}: {path}: {} bytes, expected at most {MAX_MANIFEST_BYTES}",
            text.len()
        )));
    }
    parse(path, &text).map_err(|e| SetupError(format!("{field}: {e}")))
}

/// The objects of a multi-document YAML text; each needs `apiVersion`, `kind`,
/// `metadata.name`, and a kind whose resource name [`plural`] knows.
pub fn parse(path: &str, text: &str) -> Result<Vec<Value>, String> {
    let mut objects = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document)
            .map_err(|e| format!("{path}: document {index}: expected YAML ({e})"))?;
        if value.is_null() {
            continue;
        }
        let field = |f: &str| value.pointer(f).and_then(Value::as_str).unwrap_or_default();
        for f in ["/apiVersion", "/kind", "/metadata/name"] {
            if field(f).is_empty() {
                return Err(format!(
                    "{path}: document {index}: expected `{}` (a string)",
                    f[1..].replace('/', ".")
                ));
            }
        }
        plural(field("/kind")).map_err(|e| format!("{path}: document {index}: {e}"))?;
        objects.push(value);
    }
    if objects.is_empty() {
        return Err(format!("{path}: expected at least one object"));
    }
    Ok(objects)
}

/// The resource name of `kind` (`Deployment` → `deployments`), for the kinds an operator
/// install holds.
pub fn plural(kind: &str) -> Result<String, String> {
    const KNOWN: &[&str] = &[
        "Namespace",
        "ServiceAccount",
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "NetworkPolicy",
        "ServiceMonitor",
        "PrometheusRule",
    ];
    if KNOWN.contains(&kind) {
        let lower = kind.to_ascii_lowercase();
        Ok(match lower.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{lower}s"),
        })
    } else {
        Err(format!(
            "kind {kind} is not one an operator install holds; expected one of {}",
            KNOWN.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        for (kind, want) in [
            ("Deployment", Ok("deployments")),
            ("PodDisruptionBudget", Ok("poddisruptionbudgets")),
            ("ClusterRoleBinding", Ok("clusterrolebindings")),
            (
                "ValidatingAdmissionPolicy",
                Ok("validatingadmissionpolicies"),
            ),
            ("Ingress", Err(())),
        ] {
            assert_eq!(plural(kind).map_err(drop), want.map(String::from), "{kind}");
        }
    }

    #[test]
    fn documents_become_objects_and_bad_ones_are_named() {
        let text = "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n\
                    apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: a}\n";
        let objects = parse("ops.yaml", text).expect("valid");
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1]["kind"], "Deployment");
        for (text, message) in [
            (
                "kind: Namespace\nmetadata: {name: a}\n",
                "document 0: expected `apiVersion`",
            ),
            (
                "apiVersion: v1\nkind: Namespace\nmetadata: {}\n",
                "expected `metadata.name`",
            ),
            (
                "apiVersion: v1\nkind: Ingress\nmetadata: {name: a}\n",
                "kind Ingress is not",
            ),
            ("", "expected at least one object"),
            ("a: [", "expected YAML"),
        ] {
            let err = parse("ops.yaml", text).expect_err(text);
            assert!(err.contains(message), "{text:?}: {err}");
            assert!(err.starts_with("ops.yaml"), "{err}");
        }
    }
}
