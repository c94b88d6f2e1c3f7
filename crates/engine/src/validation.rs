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
