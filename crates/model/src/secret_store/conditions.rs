//! ESO's ClusterSecretStore `spec.conditions`: which namespaces may read through the store.
//! One implementation, used by every host (the operator's cluster environment and the engine's
//! in-memory environment).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_core::{Selector, SelectorExt};
use regex::Regex;

use super::ClusterSecretStoreCondition;

/// Whether a ClusterSecretStore's `conditions` admit a namespace with these labels. No
/// conditions admit every namespace; several conditions are ORed, and within one condition
/// `namespaces`, `namespaceRegexes` and `namespaceSelector` are ORed too (ESO's
/// `ClusterSecretStore` admission). An invalid regex or selector is an error naming its field.
pub fn conditions_admit(
    conditions: &[ClusterSecretStoreCondition],
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    if conditions.is_empty() {
        return Ok(true);
    }
    for (i, c) in conditions.iter().enumerate() {
        if c.namespaces.iter().any(|n| n == namespace) {
            return Ok(true);
        }
        for (j, r) in c.namespace_regexes.iter().enumerate() {
            let re = Regex::new(r)
                .map_err(|e| format!("spec.conditions[{i}].namespaceRegexes[{j}]: {e}"))?;
            if re.is_match(namespace) {
                return Ok(true);
            }
        }
        if let Some(sel) = &c.namespace_selector
            && selector_matches(sel, labels)
                .map_err(|e| format!("spec.conditions[{i}].namespaceSelector: {e}"))?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether any condition needs the namespace's labels (a `namespaceSelector`).
pub fn conditions_need_labels(conditions: &[ClusterSecretStoreCondition]) -> bool {
    conditions.iter().any(|c| c.namespace_selector.is_some())
}

/// Whether `labels` match a Kubernetes label selector (an invalid selector is an error).
pub fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    let selector = Selector::try_from(selector.clone()).map_err(|e| e.to_string())?;
    Ok(selector.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    /// (conditions, namespace, its labels, admitted)
    type Case<'a> = (
        &'a [ClusterSecretStoreCondition],
        &'a str,
        &'a BTreeMap<String, String>,
        bool,
    );

    #[test]
    fn conditions_are_ored_and_empty_admits_all() {
        let team_a = labels(&[("team", "a")]);
        let team_b = labels(&[("team", "b")]);
        let by_name = ClusterSecretStoreCondition {
            namespaces: vec!["prod".into()],
            ..Default::default()
        };
        let by_regex = ClusterSecretStoreCondition {
            namespace_regexes: vec!["^team-.*$".into()],
            ..Default::default()
        };
        let by_label = ClusterSecretStoreCondition {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(team_b.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let all = [by_name, by_regex, by_label];
        let cases: [Case<'_>; 6] = [
            (&[], "anything", &team_a, true),
            (&all, "prod", &team_a, true),
            (&all, "team-x", &team_a, true),
            (&all, "other", &team_a, false),
            (&all, "other", &team_b, true),
            (&all[..2], "other", &team_b, false),
        ];
        for (conditions, namespace, labels, expected) in cases {
            assert_eq!(
                conditions_admit(conditions, namespace, labels),
                Ok(expected),
                "{namespace} {labels:?}"
            );
        }
        assert!(conditions_need_labels(&all));
        assert!(!conditions_need_labels(&all[..2]));
    }

    #[test]
    fn invalid_regex_and_selector_name_their_field() {
        let bad_regex = ClusterSecretStoreCondition {
            namespace_regexes: vec!["(".into()],
            ..Default::default()
        };
        let err = conditions_admit(&[bad_regex], "x", &BTreeMap::new()).unwrap_err();
        assert!(
            err.starts_with("spec.conditions[0].namespaceRegexes[0]:"),
            "{err}"
        );
        let bad_selector = ClusterSecretStoreCondition {
            namespace_selector: Some(LabelSelector {
                match_expressions: Some(vec![
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
                        key: "team".into(),
                        operator: "Sometimes".into(),
                        values: None,
                    },
                ]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = conditions_admit(&[bad_selector], "x", &BTreeMap::new()).unwrap_err();
        assert!(
            err.starts_with("spec.conditions[0].namespaceSelector:"),
            "{err}"
        );
    }
}
