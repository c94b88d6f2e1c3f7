//! Secret operations: get (latest / by version), list (paged), list versions, set, update,
//! delete (soft), get deleted, purge.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::{Ctx, RECOVERABLE_DAYS, RECOVERY_LEVEL, kv_error};
use crate::azure::server::{Resp, empty_response, json_response};
use crate::azure::state::{DeletedSecret, SecretVersion, new_version_id, now_secs};

/// Default and largest page size of list operations.
const MAX_PAGE_SIZE: usize = 25;

fn not_found(name: &str, version: Option<&str>) -> Resp {
    let id = match version {
        Some(v) => format!("{name}/{v}"),
        None => name.to_string(),
    };
    kv_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {id} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

/// The `attributes` object of a secret version.
fn attributes(v: &SecretVersion) -> Value {
    let mut a = json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.updated,
        "recoveryLevel": RECOVERY_LEVEL,
        "recoverableDays": RECOVERABLE_DAYS,
    });
    if let Some(nbf) = v.not_before {
        a["nbf"] = json!(nbf);
    }
    if let Some(exp) = v.expires {
        a["exp"] = json!(exp);
    }
    a
}

/// Properties shared by bundles and list items; `id` is given by the caller.
fn properties(origin: &str, id: String, v: &SecretVersion) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    if let Some(ct) = &v.content_type {
        m.insert("contentType".into(), json!(ct));
    }
    m.insert("attributes".into(), attributes(v));
    if !v.tags.is_empty() {
        m.insert("tags".into(), json!(v.tags));
    }
    if let Some(kid) = &v.managed_kid {
        m.insert("kid".into(), json!(format!("{origin}{kid}")));
        m.insert("managed".into(), json!(true));
    }
    m
}

fn bundle(ctx: &Ctx<'_>, name: &str, v: &SecretVersion, with_value: bool) -> Value {
    let mut m = properties(
        &ctx.origin,
        format!("{}/secrets/{name}/{}", ctx.origin, v.version),
        v,
    );
    if with_value {
        // The value leaves the double only in the response body, as the service returns it.
        let mut out = Map::new();
        out.insert("value".into(), json!(v.value.expose_secret()));
        out.extend(m);
        m = out;
    }
    Value::Object(m)
}

/// `GET /secrets/{name}[/{version}]`.
pub(super) fn get(ctx: &Ctx<'_>, name: &str, version: Option<&str>) -> Resp {
    ctx.count("GetSecret");
    let state = ctx.shared.lock();
    let Some(v) = state.secret_version(name, version) else {
        return not_found(name, version);
    };
    if !v.enabled {
        return kv_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            Some("SecretDisabled"),
        );
    }
    json_response(StatusCode::OK, &bundle(ctx, name, v, true))
}

/// Parses `maxresults` and `$skiptoken` into (page size, offset).
fn paging(ctx: &Ctx<'_>) -> Result<(usize, usize), Resp> {
    let size = match ctx.req.query_param("maxresults") {
        None | Some("") => MAX_PAGE_SIZE,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(kv_error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    &format!(
                        "Invalid value '{raw}' for maxresults: it must be between 1 and {MAX_PAGE_SIZE}."
                    ),
                    None,
                ));
            }
        },
    };
    let offset = match ctx.req.query_param("$skiptoken") {
        None | Some("") => 0,
        Some(token) => URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| {
                kv_error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    "The $skiptoken is invalid.",
                    None,
                )
            })?,
    };
    Ok((size, offset))
}

/// Builds one page `{value, nextLink}` from all items.
fn page(ctx: &Ctx<'_>, path: &str, items: Vec<Value>, size: usize, offset: usize) -> Resp {
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let next = offset + size;
    let next_link = if next < total {
        let token = URL_SAFE_NO_PAD.encode(format!("offset:{next}"));
        json!(format!(
            "{}{path}?api-version={}&$skiptoken={token}&maxresults={size}",
            ctx.origin, ctx.api_version
        ))
    } else {
        Value::Null
    };
    json_response(
        StatusCode::OK,
        &json!({"value": value, "nextLink": next_link}),
    )
}

/// `GET /secrets` (latest version properties of every secret, no values).
pub(super) fn list(ctx: &Ctx<'_>) -> Resp {
    ctx.count("GetSecrets");
    let (size, offset) = match paging(ctx) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let items = {
        let state = ctx.shared.lock();
        state
            .secrets
            .iter()
            .filter_map(|(name, versions)| {
                versions.last().map(|v| {
                    Value::Object(properties(
                        &ctx.origin,
                        format!("{}/secrets/{name}", ctx.origin),
                        v,
                    ))
                })
            })
            .collect()
    };
    page(ctx, "/secrets", items, size, offset)
}

/// `GET /secrets/{name}/versions`.
pub(super) fn list_versions(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("GetSecretVersions");
    let (size, offset) = match paging(ctx) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let items = {
        let state = ctx.shared.lock();
        let Some(versions) = state.secrets.get(name) else {
            return not_found(name, None);
        };
        versions
            .iter()
            .map(|v| {
                Value::Object(properties(
                    &ctx.origin,
                    format!("{}/secrets/{name}/{}", ctx.origin, v.version),
                    v,
                ))
            })
            .collect()
    };
    page(
        ctx,
        &format!("/secrets/{name}/versions"),
        items,
        size,
        offset,
    )
}

/// Attribute fields accepted in PUT/PATCH bodies.
struct AttributeInput {
    enabled: Option<bool>,
    not_before: Option<Option<i64>>,
    expires: Option<Option<i64>>,
}

fn parse_attributes(body: &Value) -> Result<AttributeInput, Resp> {
    let attrs = body.get("attributes").cloned().unwrap_or(Value::Null);
    let bad = |field: &str, expected: &str| {
        kv_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            &format!("Property attributes.{field} has an invalid value: expected {expected}."),
            None,
        )
    };
    let time = |field: &str| -> Result<Option<Option<i64>>, Resp> {
        match attrs.get(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => v
                .as_i64()
                .map(|n| Some(Some(n)))
                .ok_or_else(|| bad(field, "Unix seconds")),
        }
    };
    let enabled = match attrs.get("enabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(bad("enabled", "a boolean")),
    };
    Ok(AttributeInput {
        enabled,
        not_before: time("nbf")?,
        expires: time("exp")?,
    })
}

pub(super) fn parse_tags(body: &Value) -> Result<Option<BTreeMap<String, String>>, Resp> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(kv_error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    &format!("Tag '{k}' must have a string value."),
                    None,
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(kv_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "Property tags must be an object of strings.",
            None,
        )),
    }
}

/// `PUT /secrets/{name}`: creates a new version.
pub(super) fn set(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("SetSecret");
    let body = match ctx.json_body() {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(value) = body.get("value").and_then(Value::as_str) else {
        return kv_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "Property value is required and must be a string.",
            None,
        );
    };
    let (attrs, tags) = match (parse_attributes(&body), parse_tags(&body)) {
        (Ok(a), Ok(t)) => (a, t),
        (Err(resp), _) | (_, Err(resp)) => return resp,
    };
    let content_type = body
        .get("contentType")
        .and_then(Value::as_str)
        .map(str::to_string);
    let now = now_secs();
    let version = SecretVersion {
        version: new_version_id(),
        value: SecretString::from(value),
        content_type,
        tags: tags.unwrap_or_default(),
        enabled: attrs.enabled.unwrap_or(true),
        not_before: attrs.not_before.flatten(),
        expires: attrs.expires.flatten(),
        created: now,
        updated: now,
        managed_kid: None,
    };
    let mut state = ctx.shared.lock();
    if state.deleted_secrets.contains_key(name) {
        return conflict_deleted(name);
    }
    let versions = state.secrets.entry(name.to_string()).or_default();
    versions.push(version);
    let latest = versions.last().map(|v| bundle(ctx, name, v, true));
    json_response(StatusCode::OK, &latest.unwrap_or(Value::Null))
}

pub(crate) fn conflict_deleted(name: &str) -> Resp {
    kv_error(
        StatusCode::CONFLICT,
        "Conflict",
        &format!(
            "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."
        ),
        Some("ObjectIsDeletedButRecoverable"),
    )
}

/// `PATCH /secrets/{name}/{version}`: updates attributes, tags and content type.
pub(super) fn update(ctx: &Ctx<'_>, name: &str, version: Option<&str>) -> Resp {
    ctx.count("UpdateSecret");
    let body = match ctx.json_body() {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (attrs, tags) = match (parse_attributes(&body), parse_tags(&body)) {
        (Ok(a), Ok(t)) => (a, t),
        (Err(resp), _) | (_, Err(resp)) => return resp,
    };
    let mut state = ctx.shared.lock();
    let Some(v) = state.secret_version_mut(name, version) else {
        return not_found(name, version);
    };
    if let Some(enabled) = attrs.enabled {
        v.enabled = enabled;
    }
    if let Some(nbf) = attrs.not_before {
        v.not_before = nbf;
    }
    if let Some(exp) = attrs.expires {
        v.expires = exp;
    }
    if let Some(tags) = tags {
        v.tags = tags;
    }
    if let Some(ct) = body.get("contentType") {
        v.content_type = ct.as_str().map(str::to_string);
    }
    v.updated = now_secs();
    json_response(StatusCode::OK, &bundle(ctx, name, v, false))
}

fn deleted_bundle(ctx: &Ctx<'_>, name: &str, d: &DeletedSecret) -> Value {
    let mut m = properties(
        &ctx.origin,
        format!("{}/secrets/{name}/{}", ctx.origin, d.latest.version),
        &d.latest,
    );
    m.insert(
        "recoveryId".into(),
        json!(format!("{}/deletedsecrets/{name}", ctx.origin)),
    );
    m.insert("deletedDate".into(), json!(d.deleted_date));
    m.insert(
        "scheduledPurgeDate".into(),
        json!(d.deleted_date + RECOVERABLE_DAYS * 86_400),
    );
    Value::Object(m)
}

/// `DELETE /secrets/{name}`: soft-deletes all versions.
pub(super) fn delete(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("DeleteSecret");
    let mut state = ctx.shared.lock();
    let Some(deleted) = delete_in_state(&mut state, name) else {
        return not_found(name, None);
    };
    let body = deleted_bundle(ctx, name, &deleted);
    state.deleted_secrets.insert(name.to_string(), deleted);
    json_response(StatusCode::OK, &body)
}

/// Removes a secret from the live set, returning its deleted form.
pub(crate) fn delete_in_state(
    state: &mut crate::azure::state::State,
    name: &str,
) -> Option<DeletedSecret> {
    let mut versions = state.secrets.remove(name)?;
    let latest = versions.pop()?;
    Some(DeletedSecret {
        latest,
        deleted_date: now_secs(),
    })
}

/// `GET /deletedsecrets/{name}`.
pub(super) fn get_deleted(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("GetDeletedSecret");
    let state = ctx.shared.lock();
    match state.deleted_secrets.get(name) {
        Some(d) => json_response(StatusCode::OK, &deleted_bundle(ctx, name, d)),
        None => kv_error(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            &format!("Deleted Secret not found: {name}"),
            None,
        ),
    }
}

/// `DELETE /deletedsecrets/{name}`: purges.
pub(super) fn purge(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("PurgeDeletedSecret");
    let mut state = ctx.shared.lock();
    match state.deleted_secrets.remove(name) {
        Some(_) => empty_response(StatusCode::NO_CONTENT),
        None => kv_error(
            StatusCode::NOT_FOUND,
            "SecretNotFound",
            &format!("Deleted Secret not found: {name}"),
            None,
        ),
    }
}
