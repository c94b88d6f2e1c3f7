//! `spec.dataTo` of a PushSecret (ESO's `expandDataTo` and `mergeDataEntries`): bulk rules
//! targeting a store expand into ordinary entries, per key (`match.regexp` filter, `rewrite`
//! of the remote key) or bundled into one remote secret (`remoteKey`: the matched keys as one
//! JSON object); explicit `data[]` entries win over rules naming the same source key; two
//! entries pushing to one destination are an error.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use secretsync_model::external_secret::{Rewrite, StoreKind};
use secretsync_model::push_secret::{
    PushSecretConversionStrategy, PushSecretData, PushSecretDataTo, PushSecretMatch,
    PushSecretRemoteRef,
};
use secretsync_model::secret_store::selector_matches;
use secretsync_model::{SecretData, SecretValue};

use super::{
    PlannedPush, PushPlanError, convert_source_keys, plan_entries, reverse_key, whole_secret,
};
use crate::rewrite::rewrite_map;
use crate::templates::TemplateCache;

/// The store a plan is for: what `dataTo[].storeRef` is matched against.
#[derive(Clone, Copy, Debug)]
pub struct TargetStore<'a> {
    /// Its kind.
    pub kind: StoreKind,
    /// Its name.
    pub name: &'a str,
    /// Its labels (for `storeRef.labelSelector`).
    pub labels: &'a BTreeMap<String, String>,
}

fn error(i: usize, field: &str, message: String) -> PushPlanError {
    PushPlanError {
        field: format!("spec.dataTo[{i}]{field}"),
        message,
    }
}

/// Whether rule `i` targets `store` (ESO's `dataToMatchesStore`).
pub fn targets_store(
    i: usize,
    rule: &PushSecretDataTo,
    store: TargetStore<'_>,
) -> Result<bool, PushPlanError> {
    let Some(r) = &rule.store_ref else {
        return Err(error(i, ".storeRef", "a store reference".into()));
    };
    if r.kind != store.kind {
        return Ok(false);
    }
    match (
        r.name.as_deref().filter(|n| !n.is_empty()),
        &r.label_selector,
    ) {
        (Some(name), _) => Ok(name == store.name),
        (None, Some(selector)) => selector_matches(selector, store.labels).map_err(|e| {
            error(
                i,
                ".storeRef.labelSelector",
                format!("a valid selector ({e})"),
            )
        }),
        (None, None) => Ok(false),
    }
}

/// ESO's `validateDataToMatchesResolvedStores`: a rule selecting stores by labels must select
/// one of the PushSecret's stores (a selector matching nothing would silently push nothing).
pub fn check_rules_reach_stores(
    rules: &[PushSecretDataTo],
    stores: &[TargetStore<'_>],
) -> Result<(), PushPlanError> {
    for (i, rule) in rules.iter().enumerate() {
        let by_labels = rule.store_ref.as_ref().is_some_and(|r| {
            r.name.as_deref().is_none_or(str::is_empty) && r.label_selector.is_some()
        });
        if !by_labels {
            continue;
        }
        let mut reached = false;
        for store in stores {
            reached |= targets_store(i, rule, *store)?;
        }
        if !reached {
            return Err(error(
                i,
                ".storeRef.labelSelector",
                "a selector matching one of the stores of secretStoreRefs".into(),
            ));
        }
    }
    Ok(())
}

/// Every value to push to `store`: the `dataTo` rules targeting it (in order), then the
/// explicit `data` entries, from the source `data`.
pub fn plan_store(
    explicit: &[PushSecretData],
    rules: &[PushSecretDataTo],
    store: TargetStore<'_>,
    data: &SecretData,
    templates: &TemplateCache,
) -> Result<Vec<PlannedPush>, PushPlanError> {
    let explicit_keys: BTreeSet<String> = explicit
        .iter()
        .filter_map(|d| original_key(d, data))
        .collect();
    let mut planned = Vec::new();
    let mut remote_keys: BTreeMap<String, String> = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if !targets_store(i, rule, store)? {
            continue;
        }
        for p in expand(i, rule, data, templates)? {
            let source = p.entry.secret_key().unwrap_or("(bundle)").to_string();
            let remote = p.remote().remote_key.clone();
            if let Some(first) = remote_keys.insert(remote.clone(), format!("dataTo[{i}]:{source}"))
            {
                return Err(error(
                    i,
                    "",
                    format!(
                        "distinct remote keys (remote key {remote:?} from source key {source:?} conflicts with {first})"
                    ),
                ));
            }
            if p.entry
                .secret_key()
                .is_none_or(|k| !explicit_keys.contains(k))
            {
                planned.push(p);
            }
        }
    }
    planned.extend(plan_entries(explicit, data)?);
    let mut seen = BTreeMap::new();
    for p in &planned {
        let remote = p.remote();
        let at = (
            remote.remote_key.clone(),
            remote.property().map(str::to_string),
        );
        if seen.insert(at, ()).is_some() {
            return Err(PushPlanError {
                field: "spec.dataTo".into(),
                message: format!(
                    "one entry per destination (remote key {:?}{} is pushed twice)",
                    remote.remote_key,
                    remote
                        .property()
                        .map(|p| format!(" property {p:?}"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    Ok(planned)
}

/// The source key an explicit entry reads (its converted name mapped back), if any.
fn original_key(d: &PushSecretData, data: &SecretData) -> Option<String> {
    let key = d.secret_key()?;
    if d.conversion_strategy == PushSecretConversionStrategy::None {
        return Some(key.to_string());
    }
    data.keys()
        .find(|k| reverse_key(d.conversion_strategy, k) == key)
        .cloned()
        .or_else(|| Some(key.to_string()))
}

/// ESO's `expandSingleDataTo`.
fn expand(
    i: usize,
    rule: &PushSecretDataTo,
    data: &SecretData,
    templates: &TemplateCache,
) -> Result<Vec<PlannedPush>, PushPlanError> {
    let bundle = rule.remote_key.as_deref().filter(|k| !k.is_empty());
    if bundle.is_some() && !rule.rewrite.is_empty() {
        return Err(error(
            i,
            ".rewrite",
            "no rewrite together with remoteKey (rewrite is only supported per key)".into(),
        ));
    }
    let converted = convert_source_keys(rule.conversion_strategy, data)
        .map_err(|m| error(i, ".conversionStrategy", m))?;
    let pattern = match rule.match_.as_ref().and_then(|m| m.regexp.as_deref()) {
        Some(p) if !p.is_empty() => Some(Regex::new(p).map_err(|e| {
            error(
                i,
                ".match.regexp",
                format!("a valid regular expression ({e})"),
            )
        })?),
        _ => None,
    };
    let matched: BTreeMap<String, &SecretValue> = converted
        .into_iter()
        .filter(|(k, _)| pattern.as_ref().is_none_or(|p| p.is_match(k)))
        .collect();
    if matched.is_empty() {
        return Ok(Vec::new());
    }
    let entry = |secret_key: Option<String>, remote_key: String| PushSecretData {
        match_: PushSecretMatch {
            secret_key,
            remote_ref: PushSecretRemoteRef {
                remote_key,
                property: None,
            },
        },
        metadata: rule.metadata.clone(),
        conversion_strategy: PushSecretConversionStrategy::None,
    };
    if let Some(remote_key) = bundle {
        return Ok(vec![PlannedPush {
            entry: entry(None, remote_key.to_string()),
            value: whole_secret(&matched),
        }]);
    }
    // Rewrites rename keys: run them over a map of each matched key to itself, so the result
    // maps every remote key back to its source key (a collision is an error, as in ESO).
    let names: SecretData = matched
        .keys()
        .map(|k| (k.clone(), SecretValue::from(k.as_str())))
        .collect();
    let rewrites: Vec<Rewrite> = rule
        .rewrite
        .iter()
        .map(|r| Rewrite {
            merge: None,
            regexp: r.regexp.clone(),
            transform: r.transform.clone(),
        })
        .collect();
    let renamed = rewrite_map(&rewrites, names, templates).map_err(|m| error(i, "", m))?;
    let original: BTreeMap<String, &String> = data
        .keys()
        .map(|k| (reverse_key(rule.conversion_strategy, k), k))
        .collect();
    let mut out = Vec::new();
    for (remote_key, source) in renamed {
        let converted_key = String::from_utf8_lossy(source.expose()).into_owned();
        if remote_key.is_empty() {
            return Err(error(
                i,
                ".rewrite",
                format!(
                    "a non-empty remote key (source key {converted_key:?} was rewritten to \"\")"
                ),
            ));
        }
        let Some(source_key) = original.get(&converted_key).map(|k| (*k).clone()) else {
            continue;
        };
        let Some(value) = data.get(&source_key) else {
            continue;
        };
        out.push(PlannedPush {
            entry: entry(Some(source_key), remote_key),
            value: value.clone(),
        });
    }
    // In source key order (ESO sorts by the converted key).
    out.sort_by(|a, b| a.entry.match_.secret_key.cmp(&b.entry.match_.secret_key));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> SecretData {
        [("db_user", "u"), ("db_pass", "p"), ("api_token", "t")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), SecretValue::from(v)))
            .collect()
    }

    fn rule(yaml: &str) -> PushSecretDataTo {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn explicit(yaml: &str) -> Vec<PushSecretData> {
        serde_yaml::from_str(yaml).unwrap()
    }

    /// (secret key or bundle, remote key, value) of each planned push.
    fn plan(
        explicit: &[PushSecretData],
        rules: &[PushSecretDataTo],
        labels: &[(&str, &str)],
    ) -> Result<Vec<Row>, String> {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let store = TargetStore {
            kind: StoreKind::SecretStore,
            name: "vault",
            labels: &labels,
        };
        let templates = TemplateCache::new(Default::default(), 16);
        plan_store(explicit, rules, store, &data(), &templates)
            .map(|planned| {
                planned
                    .iter()
                    .map(|p| {
                        (
                            p.entry.secret_key().unwrap_or("*").to_string(),
                            p.remote().remote_key.clone(),
                            String::from_utf8_lossy(p.value.expose()).into_owned(),
                        )
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    /// (secret key or `*` for a bundle, remote key, value) of a planned push.
    type Row = (String, String, String);
    /// (what, rules, planned rows).
    type Case = (&'static str, Vec<PushSecretDataTo>, Vec<Row>);

    fn row(k: &str, r: &str, v: &str) -> Row {
        (k.into(), r.into(), v.into())
    }

    #[test]
    fn rules_expand_per_key_or_bundled() {
        let cases: Vec<Case> = vec![
            (
                "all keys, one remote each",
                vec![rule("storeRef: {name: vault}")],
                vec![
                    row("api_token", "api_token", "t"),
                    row("db_pass", "db_pass", "p"),
                    row("db_user", "db_user", "u"),
                ],
            ),
            (
                "another store's rule is skipped",
                vec![
                    rule("storeRef: {name: other}"),
                    rule("storeRef: {name: vault, kind: ClusterSecretStore}"),
                ],
                vec![],
            ),
            (
                "match and rewrites (regexp, then a template)",
                vec![rule(
                    "storeRef: {name: vault}\nmatch: {regexp: '^db_'}\nrewrite:\n- regexp: {source: '^db_', target: 'app/'}\n- transform: {template: '{{ .value | upper }}'}",
                )],
                vec![
                    row("db_pass", "APP/PASS", "p"),
                    row("db_user", "APP/USER", "u"),
                ],
            ),
            (
                "bundle: the matched keys as one JSON object",
                vec![rule(
                    "storeRef: {name: vault}\nremoteKey: app/db\nmatch: {regexp: '^db_'}",
                )],
                vec![row("*", "app/db", r#"{"db_pass":"p","db_user":"u"}"#)],
            ),
            (
                "a label selector",
                vec![rule(
                    "storeRef: {labelSelector: {matchLabels: {tier: prod}}}\nmatch: {regexp: token}",
                )],
                vec![row("api_token", "api_token", "t")],
            ),
            (
                "nothing matched",
                vec![rule("storeRef: {name: vault}\nmatch: {regexp: nothing}")],
                vec![],
            ),
        ];
        for (what, rules, want) in cases {
            assert_eq!(
                plan(&[], &rules, &[("tier", "prod")]).unwrap(),
                want,
                "{what}"
            );
        }
    }

    #[test]
    fn explicit_entries_win_and_destinations_are_unique() {
        let all = [rule("storeRef: {name: vault}")];
        let mine = explicit("- match: {secretKey: db_pass, remoteRef: {remoteKey: custom}}");
        assert_eq!(
            plan(&mine, &all, &[]).unwrap(),
            [
                row("api_token", "api_token", "t"),
                row("db_user", "db_user", "u"),
                row("db_pass", "custom", "p"),
            ]
        );
        let clash = explicit("- match: {secretKey: db_pass, remoteRef: {remoteKey: db_user}}");
        let e = plan(&clash, &all, &[]).unwrap_err();
        assert!(e.contains("pushed twice") && e.contains("db_user"), "{e}");
    }

    #[test]
    fn bad_rules_name_the_field() {
        let cases = [
            (
                "storeRef: {name: vault}\nremoteKey: x\nrewrite: [{regexp: {source: a, target: b}}]",
                "spec.dataTo[0].rewrite",
            ),
            (
                "storeRef: {name: vault}\nmatch: {regexp: '('}",
                "spec.dataTo[0].match.regexp",
            ),
            ("remoteKey: x", "spec.dataTo[0].storeRef"),
            (
                "storeRef: {name: vault}\nrewrite: [{regexp: {source: '.*', target: same}}]",
                "spec.dataTo[0]",
            ),
            (
                "storeRef: {name: vault}\nmatch: {regexp: token}\nrewrite: [{regexp: {source: '.*', target: ''}}]",
                "spec.dataTo[0].rewrite",
            ),
        ];
        for (yaml, field) in cases {
            let e = plan(&[], &[rule(yaml)], &[]).unwrap_err();
            assert!(e.starts_with(field), "{yaml}: {e}");
        }
        let labels = BTreeMap::from([("tier".to_string(), "dev".to_string())]);
        let dev = TargetStore {
            kind: StoreKind::SecretStore,
            name: "vault",
            labels: &labels,
        };
        let prod = [rule(
            "storeRef: {labelSelector: {matchLabels: {tier: prod}}}",
        )];
        let e = check_rules_reach_stores(&prod, &[dev]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spec.dataTo[0].storeRef.labelSelector"),
            "{e}"
        );
        let any = [
            rule("storeRef: {labelSelector: {}}"),
            rule("storeRef: {name: x}"),
        ];
        assert!(check_rules_reach_stores(&any, &[dev]).is_ok());
        let twice = [
            rule("storeRef: {name: vault}\nremoteKey: x"),
            rule("storeRef: {name: vault}\nremoteKey: x"),
        ];
        let e = plan(&[], &twice, &[]).unwrap_err();
        assert!(
            e.starts_with("spec.dataTo[1]") && e.contains("conflicts with dataTo[0]"),
            "{e}"
        );
    }
}
