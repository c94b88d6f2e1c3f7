//! `dataFrom[].rewrite`: ESO's `RewriteMap` (regexp, transform, merge), deterministic.

use std::collections::BTreeMap;

use regex::Regex;
use secretsync_model::external_secret::{
    MergeConflictPolicy, MergePriorityPolicy, MergeStrategy, Rewrite, RewriteMerge,
};
use secretsync_model::value::{SecretData, SecretValue};
use serde_json::Value;

use crate::templates::TemplateCache;
use crate::values::gojson;

/// Applies `rewrites` in order. Errors name the operation (`rewrite[1]`) and keys, never values.
/// The transforms of one rewrite list share one template budget.
pub fn rewrite_map(
    rewrites: &[Rewrite],
    mut data: SecretData,
    templates: &TemplateCache,
) -> Result<SecretData, String> {
    let mut budget = templates.budget();
    for (i, op) in rewrites.iter().enumerate() {
        data = apply(op, data, templates, &mut budget).map_err(|e| format!("rewrite[{i}]: {e}"))?;
    }
    Ok(data)
}

fn apply(
    op: &Rewrite,
    data: SecretData,
    templates: &TemplateCache,
    budget: &mut secretsync_template::Budget,
) -> Result<SecretData, String> {
    if let Some(merge) = &op.merge {
        rewrite_merge(merge, data)
    } else if let Some(re) = &op.regexp {
        let regex = Regex::new(&re.source)
            .map_err(|e| format!("regexp failed with failed to compile: {e}"))?;
        rename_keys(data, |key| {
            Ok(regex.replace_all(key, re.target.as_str()).into_owned())
        })
    } else if let Some(t) = &op.transform {
        let template = templates
            .get("transform", &t.template)
            .map_err(|e| format!("transform failed with failed to parse template: {e}"))?;
        rename_keys(data, |key| {
            let mut ctx = secretsync_template::Context::new();
            ctx.insert("value", key);
            template.render_string_with(&ctx, budget).map_err(|e| {
                format!("transform failed with failed to execute template for key {key:?}: {e}")
            })
        })
    } else {
        Ok(data)
    }
}

/// Renames every key. ESO keeps an arbitrary one of two keys that collide; secretsync keeps
/// identical values and reports different ones as an error.
fn rename_keys(
    data: SecretData,
    mut rename: impl FnMut(&str) -> Result<String, String>,
) -> Result<SecretData, String> {
    let mut out = SecretData::new();
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in data {
        let new_key = rename(&key)?;
        if let Some(existing) = out.get(&new_key) {
            if *existing != value {
                return Err(format!(
                    "keys {:?} and {key:?} are both rewritten to {new_key:?} with different values",
                    origin.get(&new_key).cloned().unwrap_or_default()
                ));
            }
            continue;
        }
        origin.insert(new_key.clone(), key);
        out.insert(new_key, value);
    }
    Ok(out)
}

/// ESO's `RewriteMerge`: every value is a JSON object; their members are merged (sorted
/// non-priority keys first, then `priority` in order, later wins).
pub fn rewrite_merge(op: &RewriteMerge, data: SecretData) -> Result<SecretData, String> {
    let mut keys: Vec<&String> = data
        .keys()
        .filter(|k| !op.priority.iter().any(|p| p == *k))
        .collect();
    keys.extend(op.priority.iter());
    let mut merged: BTreeMap<String, Value> = BTreeMap::new();
    let mut conflicts: Vec<String> = Vec::new();
    for key in keys {
        let Some(value) = data.get(key) else {
            if op.priority_policy == Some(MergePriorityPolicy::IgnoreNotFound) {
                continue;
            }
            return Err(format!(
                "merge failed with key {key:?} not found in input map"
            ));
        };
        let object: BTreeMap<String, Value> = serde_json::from_slice(value.expose())
            .map_err(|_| format!("merge failed: the value of key {key:?} is not a JSON object"))?;
        for (k, v) in object {
            if merged.contains_key(&k) {
                conflicts.push(k.clone());
            }
            merged.insert(k, v);
        }
    }
    if op.conflict_policy != MergeConflictPolicy::Ignore && !conflicts.is_empty() {
        return Err(format!(
            "merge failed with conflicts: {}",
            conflicts.join(", ")
        ));
    }
    match op.strategy {
        MergeStrategy::Extract => Ok(merged
            .iter()
            .map(|(k, v)| (k.clone(), SecretValue::new(gojson::byte_value(v))))
            .collect()),
        MergeStrategy::Json => {
            if op.into.is_empty() {
                return Err("merge failed with missing 'into' field".into());
            }
            let object = Value::Object(merged.into_iter().collect());
            let encoded = gojson::encode(&object, false);
            let mut out = data;
            out.insert(op.into.clone(), SecretValue::from(encoded));
            Ok(out)
        }
    }
}
