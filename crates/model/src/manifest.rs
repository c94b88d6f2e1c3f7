//! Reading multi-document YAML manifests into typed resources, with errors that name the
//! file, the document, the object and the field — and never echo a value.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde::de::DeserializeOwned;

use crate::cluster_external_secret::ClusterExternalSecret;
use crate::external_secret::ExternalSecret;
use crate::generator::GeneratorObject;
use crate::push_secret::{PushSecret, validate_push_secret};
use crate::secret_store::{ClusterSecretStore, SecretStore};
use crate::validate::validate_external_secret;

/// The ESO API group.
pub const GROUP: &str = "external-secrets.io";

/// A resource secretsync understands.
#[derive(Clone, Debug)]
pub enum Resource {
    /// An ExternalSecret (v1 or v1beta1).
    ExternalSecret(Box<ExternalSecret>),
    /// A SecretStore.
    SecretStore(Box<SecretStore>),
    /// A ClusterSecretStore.
    ClusterSecretStore(Box<ClusterSecretStore>),
    /// A ClusterExternalSecret.
    ClusterExternalSecret(Box<ClusterExternalSecret>),
    /// A PushSecret (`v1alpha1`).
    PushSecret(Box<PushSecret>),
    /// A core/v1 Secret (credentials or templates).
    Secret(Box<Secret>),
    /// A core/v1 ConfigMap (templates, CA bundles).
    ConfigMap(Box<ConfigMap>),
    /// A generator (`generators.external-secrets.io/v1alpha1`, any kind but GeneratorState).
    Generator(Box<GeneratorObject>),
}

impl Resource {
    /// `Kind/name` for messages.
    pub fn describe(&self) -> String {
        let (kind, name) = match self {
            Resource::ExternalSecret(r) => ("ExternalSecret", r.metadata.name.clone()),
            Resource::SecretStore(r) => ("SecretStore", r.metadata.name.clone()),
            Resource::ClusterSecretStore(r) => ("ClusterSecretStore", r.metadata.name.clone()),
            Resource::ClusterExternalSecret(r) => {
                ("ClusterExternalSecret", r.metadata.name.clone())
            }
            Resource::PushSecret(r) => ("PushSecret", r.metadata.name.clone()),
            Resource::Secret(r) => ("Secret", r.metadata.name.clone()),
            Resource::ConfigMap(r) => ("ConfigMap", r.metadata.name.clone()),
            Resource::Generator(g) => (g.kind.as_str(), Some(g.name.clone())),
        };
        format!("{kind}/{}", name.unwrap_or_default())
    }
}

/// One parsed document.
#[derive(Clone, Debug)]
pub struct Document {
    /// Where it came from (a file name).
    pub source: String,
    /// Zero-based index of the document in its file.
    pub index: usize,
    /// The resource.
    pub resource: Resource,
}

/// A problem with one document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: document {index}{}: {}{message}", object.as_ref().map(|o| format!(" ({o})")).unwrap_or_default(), field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct ManifestError {
    /// File name.
    pub source_name: String,
    /// Zero-based document index.
    pub index: usize,
    /// `Kind/name`, when known.
    pub object: Option<String>,
    /// Dotted field path, when known.
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Parses every document of a YAML stream. Empty documents are skipped.
pub fn parse_documents(source: &str, text: &str) -> Vec<Result<Document, ManifestError>> {
    let mut out = Vec::new();
    for (index, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let err = |object: Option<String>, field: Option<String>, message: String| ManifestError {
            source_name: source.to_string(),
            index,
            object,
            field,
            message,
        };
        let value: serde_json::Value = match serde::Deserialize::deserialize(de) {
            Ok(v) => v,
            Err(e) => {
                out.push(Err(err(
                    None,
                    None,
                    format!("malformed YAML: {}", redact(&e.to_string())),
                )));
                // serde_yaml cannot resume after a syntax error in a stream.
                break;
            }
        };
        if value.is_null() {
            continue;
        }
        out.push(
            parse_value(value)
                .map(|resource| Document {
                    source: source.to_string(),
                    index,
                    resource,
                })
                .map_err(|(object, field, message)| err(object, field, message)),
        );
    }
    out
}

type ParseFailure = (Option<String>, Option<String>, String);

fn parse_value(value: serde_json::Value) -> Result<Resource, ParseFailure> {
    let Some(obj) = value.as_object() else {
        return Err((
            None,
            None,
            "expected a Kubernetes object (a YAML map)".into(),
        ));
    };
    let api_version = obj
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let kind = obj
        .get("kind")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string();
    let object = Some(format!(
        "{}/{}",
        if kind.is_empty() { "<no kind>" } else { &kind },
        name
    ));
    if api_version.is_empty() {
        return Err((
            object,
            Some("apiVersion".into()),
            "expected an apiVersion".into(),
        ));
    }
    if kind.is_empty() {
        return Err((object, Some("kind".into()), "expected a kind".into()));
    }
    let (group, version) = api_version
        .split_once('/')
        .unwrap_or(("", api_version.as_str()));
    let resource = match (group, kind.as_str()) {
        (
            GROUP,
            "ExternalSecret" | "SecretStore" | "ClusterSecretStore" | "ClusterExternalSecret",
        ) => {
            if version != "v1" && version != "v1beta1" {
                return Err((
                    object,
                    Some("apiVersion".into()),
                    format!("expected {GROUP}/v1 or {GROUP}/v1beta1, got {api_version:?}"),
                ));
            }
            // Both versions share one schema; normalise to the storage version.
            let mut value = value;
            value["apiVersion"] = serde_json::Value::String(format!("{GROUP}/v1"));
            match kind.as_str() {
                "ExternalSecret" => {
                    let es: ExternalSecret =
                        typed(value).map_err(|(f, m)| (object.clone(), f, m))?;
                    if let Some(first) = validate_external_secret(&es.spec).into_iter().next() {
                        return Err((object, None, first.to_string()));
                    }
                    Resource::ExternalSecret(Box::new(es))
                }
                "SecretStore" => {
                    Resource::SecretStore(Box::new(typed(value).map_err(|(f, m)| (object, f, m))?))
                }
                "ClusterSecretStore" => Resource::ClusterSecretStore(Box::new(
                    typed(value).map_err(|(f, m)| (object, f, m))?,
                )),
                _ => Resource::ClusterExternalSecret(Box::new(
                    typed(value).map_err(|(f, m)| (object, f, m))?,
                )),
            }
        }
        (GROUP, "PushSecret") => {
            if version != "v1alpha1" {
                return Err((
                    object,
                    Some("apiVersion".into()),
                    format!("expected {GROUP}/v1alpha1, got {api_version:?}"),
                ));
            }
            let ps: PushSecret = typed(value).map_err(|(f, m)| (object.clone(), f, m))?;
            if let Some(first) = validate_push_secret(&ps.spec, "spec").into_iter().next() {
                return Err((object, None, first.to_string()));
            }
            Resource::PushSecret(Box::new(ps))
        }
        ("", "Secret") if version == "v1" => {
            Resource::Secret(Box::new(typed(value).map_err(|(f, m)| (object, f, m))?))
        }
        ("", "ConfigMap") if version == "v1" => {
            Resource::ConfigMap(Box::new(typed(value).map_err(|(f, m)| (object, f, m))?))
        }
        (crate::generator::GROUP, kind) if version == "v1alpha1" && kind != "GeneratorState" => {
            Resource::Generator(Box::new(
                GeneratorObject::from_json(kind, &value).map_err(|m| (object, None, m))?,
            ))
        }
        _ => {
            return Err((
                object,
                Some("kind".into()),
                format!(
                    "unsupported kind {kind:?} (apiVersion {api_version:?}); expected ExternalSecret, SecretStore, \
                     ClusterSecretStore or ClusterExternalSecret ({GROUP}/v1 or v1beta1), a generator \
                     ({}), or v1 Secret/ConfigMap",
                    crate::generator::API_VERSION
                ),
            ));
        }
    };
    Ok(resource)
}

/// Deserializes with a precise field path; the message never contains a value.
fn typed<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, (Option<String>, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { None } else { Some(path) };
        (field, redact(&e.into_inner().to_string()))
    })
}

/// Removes quoted input values from serde messages such as `invalid type: string "x"`.
pub fn redact(message: &str) -> String {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = PATTERN.get_or_init(|| {
        regex::Regex::new(r#"(invalid (?:type|value|length): [a-z ]*?[a-z]) (?:"(?:[^"\\]|\\.)*"|`[^`]*`|'[^']*'|[-0-9.][-0-9.e+]*)"#)
            .expect("static regex")
    });
    re.replace_all(message, "$1 (value hidden)").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_values_in_serde_messages() {
        let m = redact(r#"invalid type: string "s3cr3t", expected a map"#);
        assert!(!m.contains("s3cr3t"), "{m}");
        assert!(m.contains("expected a map"), "{m}");
        let m = redact("invalid type: integer `12345`, expected a string");
        assert!(!m.contains("12345"), "{m}");
    }
}
