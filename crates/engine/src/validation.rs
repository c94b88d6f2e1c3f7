//! The admission check the engine applies before a sync: the model's
//! [`validate_external_secret`] (ESO's webhook rules plus the pure spec checks secretsync adds)
//! and the engine's own [`validate_sync_windows`] (it needs the cron parser).

use secretsync_model::ModelError;
use secretsync_model::external_secret::ExternalSecretSpec;
use secretsync_model::validate::validate_external_secret;

use crate::sync_windows::validate_sync_windows;

/// Every problem with `spec` that stops a sync, each naming its field.
pub fn validate_spec(spec: &ExternalSecretSpec) -> Vec<ModelError> {
    let mut errors = validate_external_secret(spec);
    errors.extend(validate_sync_windows(spec));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(yaml: &str) -> Vec<String> {
        let spec: ExternalSecretSpec = serde_yaml::from_str(yaml).unwrap();
        validate_spec(&spec)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn combines_model_rules_and_sync_windows() {
        let f = fields(
            r#"
secretStoreRef: {name: s}
dataFrom: [{find: {}}]
syncWindows: {kind: allow, windows: [{schedule: "0 25 * * *", duration: 1h}]}
"#,
        );
        assert!(
            f.iter().any(|m| m.starts_with("spec.dataFrom[0].find")),
            "{f:?}"
        );
        assert!(
            f.iter()
                .any(|m| m.starts_with("spec.syncWindows.windows[0].schedule")),
            "{f:?}"
        );
        assert!(
            fields(
                "secretStoreRef: {name: s}\ndataFrom: [{find: {path: p}}]\nsyncWindows: {kind: deny, windows: [{schedule: '@daily', duration: 8h}]}"
            )
            .is_empty()
        );
    }
}
