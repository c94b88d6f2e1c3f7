//! `templateFrom[].valuesDecodingStrategy` (ESO: "a decoding strategy for the rendered
//! template values"): each rendered value of that entry is decoded before it lands in the
//! target; `template.data` is never decoded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use common::{MemoryFactory, env_for, es, strings};
use secretsync_engine::MemoryEnvironment;
use secretsync_engine::{DesiredSecret, Engine, EngineConfig, SyncResult};
use secretsync_model::external_secret::ExternalSecret;

const CANARY: &str = "canary-5d1e0-secret";

fn env(es: &ExternalSecret) -> MemoryEnvironment {
    env_for([es])
        .with_config_map(
            "ns",
            "tpl",
            [
                // Renders to base64 of the remote value.
                ("encoded", "{{ .token | b64enc }}"),
                // Renders the remote value as stored (already base64url).
                ("raw", "{{ .urlsafe }}"),
            ],
        )
        .with_secret("ns", "tpl-secret", [("label", "{{ .token | b64enc }}")])
}

async fn sync(yaml: &str) -> Result<DesiredSecret, String> {
    let f = MemoryFactory::with_values([("/token", "hello world"), ("/urlsafe", "_-8=")]);
    let engine = Engine::new(Arc::new(f.factory()), EngineConfig::default());
    let es = es(yaml);
    match engine.sync(&es, &env(&es)).await.result {
        Ok(SyncResult::Write(d)) => Ok(d),
        Ok(other) => Err(format!("no write: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

fn spec(template: &str) -> String {
    format!(
        r#"
metadata: {{name: decoded, namespace: ns}}
spec:
  secretStoreRef: {{name: backend}}
  target:
    template:
{template}
  data:
    - {{secretKey: token, remoteRef: {{key: /token}}}}
    - {{secretKey: urlsafe, remoteRef: {{key: /urlsafe}}}}
"#
    )
}

#[tokio::test]
async fn decodes_rendered_configmap_values() {
    let d = sync(&spec(
        r#"      templateFrom:
        - configMap: {name: tpl, items: [{key: encoded}]}
          valuesDecodingStrategy: Base64
        - configMap: {name: tpl, items: [{key: raw}]}
          valuesDecodingStrategy: Base64URL
      data:
        plain: "{{ .token | b64enc }}""#,
    ))
    .await
    .unwrap();
    let data = strings(&d.data);
    assert_eq!(data["encoded"], "hello world");
    assert_eq!(d.data["raw"].expose(), [0xff, 0xef]);
    // template.data is never decoded.
    assert_eq!(data["plain"], "aGVsbG8gd29ybGQ=");
}

#[tokio::test]
async fn without_a_strategy_values_are_kept() {
    for strategy in ["", "\n          valuesDecodingStrategy: None"] {
        let d = sync(&spec(&format!(
            "      templateFrom:\n        - configMap: {{name: tpl, items: [{{key: encoded}}]}}{strategy}"
        )))
        .await
        .unwrap();
        assert_eq!(strings(&d.data)["encoded"], "aGVsbG8gd29ybGQ=");
    }
}

#[tokio::test]
async fn auto_decodes_when_it_can_and_keeps_the_rest() {
    let d = sync(&spec(
        r#"      templateFrom:
        - literal: "a: {{ .token | b64enc }}\nb: not base64!"
          valuesDecodingStrategy: Auto"#,
    ))
    .await
    .unwrap();
    let data = strings(&d.data);
    assert_eq!(data["a"], "hello world");
    assert_eq!(data["b"], "not base64!");
}

#[tokio::test]
async fn decodes_secret_sources_into_labels() {
    let d = sync(&spec(
        r#"      templateFrom:
        - secret: {name: tpl-secret, items: [{key: label}]}
          target: Labels
          valuesDecodingStrategy: Base64"#,
    ))
    .await
    .unwrap();
    assert_eq!(d.labels["label"], "hello world");
}

#[tokio::test]
async fn a_value_that_does_not_decode_is_an_error_naming_the_entry_not_the_value() {
    let f = MemoryFactory::with_values([("/token", CANARY), ("/urlsafe", "x")]);
    let engine = Engine::new(Arc::new(f.factory()), EngineConfig::default());
    let yaml = spec(
        r#"      templateFrom:
        - configMap: {name: tpl, items: [{key: raw}]}
        - literal: "k: {{ .token }}"
          valuesDecodingStrategy: Base64"#,
    );
    let object = es(&yaml);
    let e = engine
        .sync(&object, &env(&object))
        .await
        .result
        .expect_err("not base64")
        .to_string();
    assert!(e.contains("spec.target.template.templateFrom[1]"), "{e}");
    assert!(e.contains("valuesDecodingStrategy"), "{e}");
    assert!(e.contains("\"k\""), "{e}");
    assert!(!e.contains(CANARY), "the value leaked: {e}");
}

/// ESO matches `templateFrom[].target` case-insensitively (`strings.EqualFold` in its webhook,
/// `strings.ToLower` in `runtime/template/v2`; issue #6458), and empty means Data.
#[tokio::test]
async fn template_from_target_is_case_insensitive_as_in_eso() {
    let d = sync(&spec(
        r#"      templateFrom:
        - literal: "lower: '{{ .token }}'"
          target: labels
        - literal: "upper: '{{ .token }}'"
          target: ANNOTATIONS
        - literal: "mixed: '{{ .token }}'"
          target: dAtA
        - literal: "empty: '{{ .token }}'"
          target: """#,
    ))
    .await
    .unwrap();
    assert_eq!(
        d.labels.get("lower").map(String::as_str),
        Some("hello world")
    );
    assert_eq!(
        d.annotations.get("upper").map(String::as_str),
        Some("hello world")
    );
    let data = strings(&d.data);
    assert_eq!(data["mixed"], "hello world");
    assert_eq!(data["empty"], "hello world");
    let parsed: Result<secretsync_model::external_secret::TemplateTarget, _> =
        serde_json::from_value(serde_json::json!("spec.headers"));
    let message = parsed.expect_err("not a Secret target").to_string();
    assert!(
        message.contains("expected Data, Annotations or Labels"),
        "{message}"
    );
}
