//! Key and certificate reads (`GET /keys/{name}[/{version}]`,
//! `GET /certificates/{name}[/{version}]`) and the bundles every key/certificate operation
//! returns.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, RECOVERABLE_DAYS, RECOVERY_LEVEL, kv_error};
use crate::azure::server::{Resp, json_response};
use crate::azure::state::{CertificateVersion, KeyVersion};

fn pick<'a, T>(versions: &'a [T], version: Option<&str>, id: impl Fn(&T) -> &str) -> Option<&'a T> {
    match version {
        None => versions.last(),
        Some(v) => versions.iter().find(|x| id(x).eq_ignore_ascii_case(v)),
    }
}

pub(super) fn not_found(kind: &str, code: &str, name: &str, version: Option<&str>) -> Resp {
    let id = version.map_or_else(|| name.to_string(), |v| format!("{name}/{v}"));
    kv_error(
        StatusCode::NOT_FOUND,
        code,
        &format!(
            "A {kind} with (name/id) {id} was not found in this key vault. If you recently deleted this {kind} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

/// `GET /keys/{name}[/{version}]`: `{key: JWK + kid, attributes, tags}`.
pub(super) fn get_key(ctx: &Ctx<'_>, name: &str, version: Option<&str>) -> Resp {
    ctx.count("GetKey");
    let state = ctx.shared.lock();
    let Some(k) = state
        .keys
        .get(name)
        .and_then(|vs| pick(vs, version, |k| &k.version))
    else {
        return not_found("key", "KeyNotFound", name, version);
    };
    json_response(StatusCode::OK, &key_bundle(ctx, name, k))
}

/// A `KeyBundle`: `{key: public JWK + kid, attributes, tags}`.
pub(super) fn key_bundle(ctx: &Ctx<'_>, name: &str, k: &KeyVersion) -> Value {
    let mut jwk = k.jwk.clone();
    jwk.insert(
        "kid".into(),
        json!(format!("{}/keys/{name}/{}", ctx.origin, k.version)),
    );
    let mut body = json!({
        "key": Value::Object(jwk),
        "attributes": {
            "enabled": k.enabled,
            "created": k.created,
            "updated": k.created,
            "recoveryLevel": RECOVERY_LEVEL,
            "recoverableDays": RECOVERABLE_DAYS,
            "exportable": false,
        },
    });
    if !k.tags.is_empty() {
        body["tags"] = json!(k.tags);
    }
    body
}

/// `GET /certificates/{name}[/{version}]`: `{id, kid, sid, x5t, cer, attributes, tags, policy}`.
pub(super) fn get_certificate(ctx: &Ctx<'_>, name: &str, version: Option<&str>) -> Resp {
    ctx.count("GetCertificate");
    let state = ctx.shared.lock();
    let Some(c) = state
        .certificates
        .get(name)
        .and_then(|vs| pick(vs, version, |c| &c.version))
    else {
        return not_found("certificate", "CertificateNotFound", name, version);
    };
    json_response(StatusCode::OK, &certificate_bundle(ctx, name, c))
}

/// A `CertificateBundle`: `{id, kid, sid, x5t, cer, attributes, policy, tags}`.
pub(super) fn certificate_bundle(ctx: &Ctx<'_>, name: &str, c: &CertificateVersion) -> Value {
    let thumbprint = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &c.der);
    let mut attributes = json!({
        "enabled": c.enabled,
        "created": c.created,
        "updated": c.created,
        "recoveryLevel": RECOVERY_LEVEL,
        "recoverableDays": RECOVERABLE_DAYS,
    });
    if let Some(nbf) = c.not_before {
        attributes["nbf"] = json!(nbf);
    }
    if let Some(exp) = c.expires {
        attributes["exp"] = json!(exp);
    }
    let mut body = json!({
        "id": format!("{}/certificates/{name}/{}", ctx.origin, c.version),
        "kid": format!("{}/keys/{name}/{}", ctx.origin, c.version),
        "sid": format!("{}/secrets/{name}/{}", ctx.origin, c.version),
        "x5t": URL_SAFE_NO_PAD.encode(thumbprint.as_ref()),
        "cer": STANDARD.encode(&c.der),
        "attributes": attributes,
        "policy": {
            "id": format!("{}/certificates/{name}/policy", ctx.origin),
            "secret_props": {"contentType": "application/x-pem-file"},
            "issuer": {"name": "Unknown"},
            "attributes": {"enabled": true, "created": c.created, "updated": c.created},
        },
    });
    if !c.tags.is_empty() {
        body["tags"] = json!(c.tags);
    }
    body
}
