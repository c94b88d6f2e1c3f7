//! Key and certificate writes as PushSecret uses them: `PUT /keys/{name}` (import key),
//! `POST /certificates/{name}/import` (PEM with a PKCS#8 key; PKCS#12 is not modelled),
//! `DELETE /keys/{name}` and `DELETE /certificates/{name}` (returning the deleted bundle with
//! `recoveryId`, `deletedDate`, `scheduledPurgeDate`; the object is gone at once).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Map, Value, json};

use super::objects::{certificate_bundle, key_bundle, not_found};
use super::secrets::parse_tags;
use super::{Ctx, RECOVERABLE_DAYS, kv_error};
use crate::azure::server::{Resp, json_response};
use crate::azure::state::{CertificateVersion, KeyVersion, new_version_id, now_secs};

fn bad(message: &str) -> Resp {
    kv_error(StatusCode::BAD_REQUEST, "BadParameter", message, None)
}

/// The public members of an imported JWK (Key Vault stores the private part and never
/// returns it); `key_ops` as the service reports for imported keys.
fn public_jwk(key: &Map<String, Value>) -> Result<Map<String, Value>, Resp> {
    let kty = key.get("kty").and_then(Value::as_str).unwrap_or_default();
    let (members, ops): (&[&str], &[&str]) = match kty {
        "RSA" | "RSA-HSM" => (
            &["n", "e"],
            &[
                "encrypt",
                "decrypt",
                "sign",
                "verify",
                "wrapKey",
                "unwrapKey",
            ],
        ),
        "EC" | "EC-HSM" => (&["crv", "x", "y"], &["sign", "verify"]),
        _ => {
            return Err(bad(&format!(
                "The key type '{kty}' is not supported by this vault (RSA or EC; oct keys need a Managed HSM)."
            )));
        }
    };
    let mut jwk = Map::new();
    jwk.insert("kty".into(), json!(kty.trim_end_matches("-HSM")));
    jwk.insert("key_ops".into(), json!(ops));
    for m in members {
        let Some(v) = key.get(*m).and_then(Value::as_str) else {
            return Err(bad(&format!("Property key.{m} is required.")));
        };
        jwk.insert((*m).into(), json!(v));
    }
    if !key.contains_key("d") {
        return Err(bad(
            "Property key.d is required: the imported key must be private.",
        ));
    }
    Ok(jwk)
}

/// `PUT /keys/{name}` (Import Key): `{key: JWK, hsm?, attributes?, tags?}` → `KeyBundle`.
pub(super) fn import_key(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("ImportKey");
    let body = match ctx.json_body() {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(key) = body.get("key").and_then(Value::as_object) else {
        return bad("Property key is required and must be a JSON Web Key.");
    };
    let jwk = match public_jwk(key) {
        Ok(j) => j,
        Err(resp) => return resp,
    };
    let tags = match parse_tags(&body) {
        Ok(t) => t.unwrap_or_default(),
        Err(resp) => return resp,
    };
    let mut state = ctx.shared.lock();
    let versions = state.keys.entry(name.to_string()).or_default();
    versions.push(KeyVersion {
        version: new_version_id(),
        jwk,
        tags,
        enabled: true,
        created: now_secs(),
    });
    let latest = versions.last().map(|k| key_bundle(ctx, name, k));
    json_response(StatusCode::OK, &latest.unwrap_or(Value::Null))
}

/// The leaf certificate's DER of an imported value, checked as the service does: PEM must
/// hold a PKCS#8 `PRIVATE KEY` and a certificate.
fn imported_leaf(value: &[u8], content_type: &str) -> Result<Vec<u8>, Resp> {
    if content_type != "application/x-pem-file" {
        return Err(bad(&format!(
            "The Azure double imports PEM certificates only (policy.secret_props.contentType application/x-pem-file), not {content_type:?}."
        )));
    }
    if PrivatePkcs8KeyDer::from_pem_slice(value).is_err() {
        return Err(bad(
            "The specified PEM X.509 certificate content can not be read. Please check if certificate is in valid PEM format with a PKCS#8 private key.",
        ));
    }
    CertificateDer::pem_slice_iter(value)
        .next()
        .and_then(Result::ok)
        .map(|c| c.to_vec())
        .ok_or_else(|| bad("The specified PEM X.509 certificate content is missing a certificate."))
}

/// `POST /certificates/{name}/import`: `{value: base64, pwd?, policy?, attributes?, tags?}`
/// → `CertificateBundle`.
pub(super) fn import_certificate(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("ImportCertificate");
    let body = match ctx.json_body() {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(value) = body
        .get("value")
        .and_then(Value::as_str)
        .and_then(|v| STANDARD.decode(v).ok())
    else {
        return bad("Property value is required and must be base64.");
    };
    let content_type = body
        .pointer("/policy/secret_props/contentType")
        .and_then(Value::as_str)
        .unwrap_or("application/x-pkcs12");
    let der = match imported_leaf(&value, content_type) {
        Ok(d) => d,
        Err(resp) => return resp,
    };
    let tags = match parse_tags(&body) {
        Ok(t) => t.unwrap_or_default(),
        Err(resp) => return resp,
    };
    let mut state = ctx.shared.lock();
    let versions = state.certificates.entry(name.to_string()).or_default();
    versions.push(CertificateVersion {
        version: new_version_id(),
        der,
        tags,
        enabled: true,
        not_before: None,
        expires: None,
        created: now_secs(),
    });
    let latest = versions.last().map(|c| certificate_bundle(ctx, name, c));
    json_response(StatusCode::OK, &latest.unwrap_or(Value::Null))
}

fn deleted(ctx: &Ctx<'_>, collection: &str, name: &str, mut bundle: Value) -> Resp {
    let now = now_secs();
    bundle["recoveryId"] = json!(format!("{}/deleted{collection}/{name}", ctx.origin));
    bundle["deletedDate"] = json!(now);
    bundle["scheduledPurgeDate"] = json!(now + RECOVERABLE_DAYS * 86_400);
    json_response(StatusCode::OK, &bundle)
}

/// `DELETE /keys/{name}` → `DeletedKeyBundle`.
pub(super) fn delete_key(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("DeleteKey");
    let removed = ctx.shared.lock().keys.remove(name);
    match removed.as_ref().and_then(|vs| vs.last()) {
        Some(k) => deleted(ctx, "keys", name, key_bundle(ctx, name, k)),
        None => not_found("key", "KeyNotFound", name, None),
    }
}

/// `DELETE /certificates/{name}` → `DeletedCertificateBundle`.
pub(super) fn delete_certificate(ctx: &Ctx<'_>, name: &str) -> Resp {
    ctx.count("DeleteCertificate");
    let removed = ctx.shared.lock().certificates.remove(name);
    match removed.as_ref().and_then(|vs| vs.last()) {
        Some(c) => deleted(ctx, "certificates", name, certificate_bundle(ctx, name, c)),
        None => not_found("certificate", "CertificateNotFound", name, None),
    }
}
