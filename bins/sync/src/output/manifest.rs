//! Desired Secrets as `v1/Secret` objects (YAML stream or JSON list).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use secretsync_engine::DesiredSecret;

/// Converts a desired Secret into a `v1/Secret` object.
pub fn to_secret(desired: &DesiredSecret) -> Secret {
    let data: BTreeMap<String, ByteString> = desired
        .data
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.expose().to_vec())))
        .collect();
    Secret {
        metadata: ObjectMeta {
            name: Some(desired.name.clone()),
            namespace: Some(desired.namespace.clone()),
            labels: (!desired.labels.is_empty()).then(|| desired.labels.clone()),
            annotations: (!desired.annotations.is_empty()).then(|| desired.annotations.clone()),
            ..Default::default()
        },
        type_: Some(desired.type_.clone()),
        data: Some(data),
        immutable: desired.immutable.then_some(true),
        ..Default::default()
    }
}

/// Secrets as one YAML stream (`---` separated).
pub fn to_yaml_stream(secrets: &[DesiredSecret]) -> Result<String, String> {
    let mut out = String::new();
    for s in secrets {
        out.push_str("---\n");
        out.push_str(
            &serde_yaml::to_string(&to_secret(s))
                .map_err(|e| format!("Secret {}/{}: {e}", s.namespace, s.name))?,
        );
    }
    Ok(out)
}

/// Secrets as a `v1/List` in JSON.
pub fn to_json_list(secrets: &[DesiredSecret]) -> Result<String, String> {
    let items: Vec<Secret> = secrets.iter().map(to_secret).collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}
