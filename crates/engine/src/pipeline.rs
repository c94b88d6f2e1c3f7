//! Pure per-entry processing: what ESO does between the provider call and the merged data map.

use std::collections::BTreeMap;

use secretsync_model::RemoteSecret;
use secretsync_model::external_secret::{
    ConversionStrategy, DecodingStrategy, NullBytePolicy, RemoteRef, Rewrite,
};
use secretsync_model::value::{SecretData, SecretValue};

use crate::rewrite::rewrite_map;
use crate::templates::TemplateCache;
use crate::values::{convert_keys, decode, extract_map, lookup_property, validate_keys};

/// `spec.data[i]`: property lookup, decoding and the NUL-byte policy on one fetched value.
pub fn process_data_value(
    remote_ref: &RemoteRef,
    fetched: &RemoteSecret,
) -> Result<SecretValue, String> {
    let raw = fetched.value.expose();
    let value = match remote_ref.property.as_deref().filter(|p| !p.is_empty()) {
        Some(property) => SecretValue::new(
            lookup_property(raw, property).map_err(|e| format!("property {property:?}: {e}"))?,
        ),
        None => fetched.value.clone(),
    };
    let decoded = decode_value(remote_ref.decoding_strategy, value)?;
    check_null_bytes(remote_ref.null_byte_policy, &decoded)?;
    Ok(decoded)
}

fn decode_value(strategy: DecodingStrategy, value: SecretValue) -> Result<SecretValue, String> {
    if strategy == DecodingStrategy::None {
        return Ok(value);
    }
    decode(strategy, value.expose())
        .map(SecretValue::new)
        .map_err(|e| e.to_string())
}

fn check_null_bytes(policy: Option<NullBytePolicy>, value: &SecretValue) -> Result<(), String> {
    if policy == Some(NullBytePolicy::Fail) && value.expose().contains(&0) {
        return Err("the value contains NUL bytes (nullBytePolicy: Fail)".into());
    }
    Ok(())
}

/// `spec.dataFrom[i].extract`: property, JSON members, rewrite or conversion, key validation,
/// decoding, NUL-byte policy (ESO's `handleExtractSecrets` order).
pub fn process_extract(
    remote_ref: &RemoteRef,
    rewrites: &[Rewrite],
    fetched: &RemoteSecret,
    templates: &TemplateCache,
) -> Result<SecretData, String> {
    let raw = fetched.value.expose();
    let document = match remote_ref.property.as_deref().filter(|p| !p.is_empty()) {
        Some(property) => SecretValue::new(
            lookup_property(raw, property).map_err(|e| format!("property {property:?}: {e}"))?,
        ),
        None => fetched.value.clone(),
    };
    let map = extract_map(document.expose()).ok_or_else(|| {
        "the remote value is not a JSON object, so it cannot be extracted".to_string()
    })?;
    finish_map(
        map,
        rewrites,
        remote_ref.conversion_strategy,
        remote_ref.decoding_strategy,
        remote_ref.null_byte_policy,
        templates,
    )
}

/// `spec.dataFrom[i].extract` when the provider named the keys itself
/// ([`SecretProvider::extract_metadata`](secretsync_model::SecretProvider::extract_metadata)):
/// rewrites, conversion, key validation, decoding and the NUL-byte policy as for any extract.
pub fn process_extracted(
    remote_ref: &RemoteRef,
    rewrites: &[Rewrite],
    map: SecretData,
    templates: &TemplateCache,
) -> Result<SecretData, String> {
    finish_map(
        map,
        rewrites,
        remote_ref.conversion_strategy,
        remote_ref.decoding_strategy,
        remote_ref.null_byte_policy,
        templates,
    )
}

/// `spec.dataFrom[i].find`: the found remote names become keys.
pub fn process_find(
    conversion: ConversionStrategy,
    decoding: DecodingStrategy,
    null_bytes: Option<NullBytePolicy>,
    rewrites: &[Rewrite],
    found: &BTreeMap<String, RemoteSecret>,
    templates: &TemplateCache,
) -> Result<SecretData, String> {
    let map: SecretData = found
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    finish_map(map, rewrites, conversion, decoding, null_bytes, templates)
}

/// `spec.dataFrom[i].sourceRef.generatorRef`: rewrites and key validation on generated values
/// (ESO's `handleGenerateSecrets`: no conversion, no decoding).
pub fn process_generated(
    rewrites: &[Rewrite],
    generated: SecretData,
    templates: &TemplateCache,
) -> Result<SecretData, String> {
    let mut map = rewrite_map(rewrites, generated, templates)?;
    validate_keys(&mut map)?;
    Ok(map)
}

fn finish_map(
    map: SecretData,
    rewrites: &[Rewrite],
    conversion: ConversionStrategy,
    decoding: DecodingStrategy,
    null_bytes: Option<NullBytePolicy>,
    templates: &TemplateCache,
) -> Result<SecretData, String> {
    let mut map = rewrite_map(rewrites, map, templates)?;
    if rewrites.is_empty() {
        map = convert_keys(conversion, map)?;
    }
    validate_keys(&mut map)?;
    let mut out = SecretData::new();
    for (k, v) in map {
        let decoded =
            decode_value(decoding, v).map_err(|e| format!("failure decoding key {k:?}: {e}"))?;
        check_null_bytes(null_bytes, &decoded).map_err(|e| format!("key {k:?}: {e}"))?;
        out.insert(k, decoded);
    }
    Ok(out)
}
