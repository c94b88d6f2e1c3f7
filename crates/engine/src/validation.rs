//! Admission rules the engine adds to `secretsync_model::validate` (reported to the lead for
//! inclusion in the model).

use secretsync_model::ModelError;
use secretsync_model::external_secret::ExternalSecretSpec;

/// Rules ESO enforces (webhook or controller) that `validate_external_secret` does not check yet.
pub fn engine_rules(spec: &ExternalSecretSpec) -> Vec<ModelError> {
    let mut errors = Vec::new();
    if spec.target.manifest.is_some() {
        errors.push(ModelError::field(
            "spec.target.manifest",
            "no manifest (generic targets need ESO's --unsafe-allow-generic-targets and are not supported by secretsync)",
        ));
    }
    for (i, df) in spec.data_from.iter().enumerate() {
        if let Some(source) = &df.source_ref
            && source.generator_ref.is_none()
            && source.store_ref.is_none()
        {
            errors.push(ModelError::field(
                format!("spec.dataFrom[{i}].sourceRef"),
                "generatorRef or storeRef when sourceRef is set",
            ));
        }
        if let Some(find) = &df.find
            && find.path.as_deref().is_none_or(str::is_empty)
            && find
                .name
                .as_ref()
                .and_then(|n| n.regexp.as_deref())
                .is_none_or(str::is_empty)
            && find.tags.is_empty()
        {
            errors.push(ModelError::field(
                format!("spec.dataFrom[{i}].find"),
                "at least one of path, name.regexp or tags",
            ));
        }
        if let Some(name) = df
            .find
            .as_ref()
            .and_then(|f| f.name.as_ref())
            .and_then(|n| n.regexp.as_deref())
            && let Err(e) = regex::Regex::new(name)
        {
            errors.push(ModelError::field(
                format!("spec.dataFrom[{i}].find.name.regexp"),
                format!("a valid regular expression ({e})"),
            ));
        }
        for (j, rw) in df.rewrite.iter().enumerate() {
            if let Some(m) = &rw.merge
                && m.strategy == secretsync_model::external_secret::MergeStrategy::Json
                && m.into.is_empty()
            {
                errors.push(ModelError::field(
                    format!("spec.dataFrom[{i}].rewrite[{j}].merge.into"),
                    "a target key when strategy is JSON",
                ));
            }
        }
    }
    if let Some(t) = &spec.target.template {
        for (i, from) in t.template_from.iter().enumerate() {
            let sources = [
                from.config_map.is_some(),
                from.secret.is_some(),
                from.literal.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if sources == 0 {
                errors.push(ModelError::field(
                    format!("spec.target.template.templateFrom[{i}]"),
                    "one of configMap, secret or literal",
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> ExternalSecretSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn fields(s: &ExternalSecretSpec) -> Vec<String> {
        engine_rules(s).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rejects_what_eso_rejects() {
        let f = fields(&spec(
            r#"
secretStoreRef: {name: s}
target: {manifest: {apiVersion: v1, kind: ConfigMap}}
dataFrom:
  - find: {}
  - find: {name: {regexp: "("}}
  - extract: {key: k}
    rewrite: [{merge: {strategy: JSON}}]
  - extract: {key: k}
    sourceRef: {}
"#,
        ));
        for expected in [
            "spec.target.manifest",
            "spec.dataFrom[0].find",
            "spec.dataFrom[1].find.name.regexp",
            "spec.dataFrom[2].rewrite[0].merge.into",
            "spec.dataFrom[3].sourceRef",
        ] {
            assert!(
                f.iter().any(|m| m.starts_with(expected)),
                "{expected} missing in {f:?}"
            );
        }
        assert!(
            fields(&spec(
                "secretStoreRef: {name: s}\ndataFrom: [{find: {path: p}}]"
            ))
            .is_empty()
        );
    }
}
