//! Key Vault data plane: challenge authentication, bearer-token validation, throttling,
//! `api-version` checks and dispatch to the secret/key/certificate operations.

mod object_writes;
mod objects;
pub(crate) mod secrets;

use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use super::jwt::ParsedJwt;
use super::server::{Req, Resp, Shared, json_response};
use super::state::now_secs;

/// The `api-version` values the double accepts (the Rust SDK 1.0 sends `2025-07-01`, Python
/// azure-keyvault-secrets 4.12 sends `2026-04-01`).
pub const SUPPORTED_API_VERSIONS: &[&str] = &[
    "2016-10-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
    "2025-07-01",
    "2026-04-01",
];

/// The newest version, named in "not recognized" errors (azure-keyvault-secrets 4.12 sends it).
const LATEST_API_VERSION: &str = "2026-04-01";

/// The soft-delete recovery level every object reports.
pub(crate) const RECOVERY_LEVEL: &str = "Recoverable+Purgeable";
/// Days a deleted object stays recoverable.
pub(crate) const RECOVERABLE_DAYS: i64 = 90;

/// A Key Vault error body: `{"error":{"code","message","innererror"?}}`.
pub(crate) fn kv_error(status: StatusCode, code: &str, message: &str, inner: Option<&str>) -> Resp {
    let mut error = json!({"code": code, "message": message});
    if let Some(inner) = inner {
        error["innererror"] = json!({"code": inner});
    }
    json_response(status, &json!({ "error": error }))
}

/// The `401` + `WWW-Authenticate` challenge Key Vault sends for missing or unusable tokens.
fn challenge(shared: &Shared, message: &str) -> Resp {
    let mut resp = kv_error(StatusCode::UNAUTHORIZED, "Unauthorized", message, None);
    let value = format!(
        "Bearer authorization=\"{}/{}\", resource=\"{}\"",
        shared.config.base_url, shared.config.tenant_id, shared.config.vault_resource
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// Checks the bearer token; `Err` carries the 401 message.
fn authenticate(shared: &Shared, req: &Req) -> Result<(), String> {
    let Some(auth) = req.header("authorization") else {
        return Err("Request is missing a Bearer or PoP token.".into());
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
    else {
        return Err("Request is missing a Bearer or PoP token.".into());
    };
    let parsed = ParsedJwt::parse(token.trim())
        .map_err(|e| format!("AKV10000: Request is missing a Bearer or PoP token ({e})."))?;
    shared
        .signer
        .verify(&parsed)
        .map_err(|_| "AKV10016: Bearer token signature validation failed.".to_string())?;
    let expected = shared.config.vault_resource.trim_end_matches('/');
    if !parsed
        .audiences()
        .iter()
        .any(|a| a.trim_end_matches('/') == expected)
    {
        return Err(format!(
            "AKV10022: Invalid audience. Expected {expected}, found: {}.",
            parsed.audiences().join(",")
        ));
    }
    let expected_issuer = format!("https://sts.windows.net/{}/", shared.config.tenant_id);
    if parsed.claim_str("iss") != Some(expected_issuer.as_str()) {
        return Err(format!(
            "AKV10032: Invalid issuer. Expected one of {expected_issuer}, found {}.",
            parsed.claim_str("iss").unwrap_or("")
        ));
    }
    let now = now_secs();
    if parsed.claim_i64("exp").is_none_or(|exp| exp <= now) {
        return Err("AKV10013: Token is expired.".into());
    }
    if parsed.claim_i64("nbf").is_some_and(|nbf| nbf > now + 300) {
        return Err("AKV10014: Token is not yet valid.".into());
    }
    Ok(())
}

/// Handles one vault request.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    if let Err(message) = authenticate(shared, req) {
        shared.lock().counters.vault_unauthorized += 1;
        return challenge(shared, &message);
    }
    {
        let mut state = shared.lock();
        let matches = state
            .throttle
            .path_fragment
            .as_deref()
            .is_none_or(|fragment| req.path.contains(fragment));
        if state.throttle.remaining > 0 && matches {
            state.throttle.remaining -= 1;
            state.counters.vault_throttled += 1;
            let retry_after = state.throttle.retry_after_secs;
            drop(state);
            let mut resp = kv_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Throttled",
                "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
                None,
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
    }
    let api_version = match req.query_param("api-version") {
        None | Some("") => {
            return kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!(
                    "The api-version query parameter is missing. Consider using the latest supported version ({LATEST_API_VERSION})."
                ),
                None,
            );
        }
        Some(v) if !SUPPORTED_API_VERSIONS.contains(&v) => {
            return kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!(
                    "The specified version ({v}) is not recognized. Consider using the latest supported version ({LATEST_API_VERSION})."
                ),
                None,
            );
        }
        Some(v) => v.to_string(),
    };
    let ctx = Ctx {
        shared,
        req,
        origin: req.origin(&shared.config.base_url),
        api_version,
    };
    dispatch(&ctx)
}

/// Per-request context for the operation handlers.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) req: &'a Req,
    /// `https://{host}` as the client addressed the vault; object ids are built from it.
    pub(crate) origin: String,
    pub(crate) api_version: String,
}

impl Ctx<'_> {
    /// Counts the operation and returns its name back.
    pub(crate) fn count(&self, operation: &str) {
        self.shared.lock().count_vault(operation);
    }

    /// Parses the JSON body; a missing body is an empty object.
    pub(crate) fn json_body(&self) -> Result<Value, Resp> {
        if self.req.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.req.body).map_err(|e| {
            kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!("The request body is not valid JSON: {e}"),
                None,
            )
        })
    }
}

/// Key Vault object names: 1-127 characters of `0-9a-zA-Z-`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn bad_name(name: &str) -> Resp {
    kv_error(
        StatusCode::BAD_REQUEST,
        "BadParameter",
        &format!("The request URI contains an invalid name: {name}"),
        None,
    )
}

fn dispatch(ctx: &Ctx<'_>) -> Resp {
    let segments: Vec<&str> = ctx.req.path.trim_start_matches('/').split('/').collect();
    let collection = segments[0];
    let name = segments.get(1).copied().filter(|s| !s.is_empty());
    let rest = segments.get(2).copied().filter(|s| !s.is_empty());
    if segments.len() > 3 {
        return not_found_route(ctx);
    }
    if let Some(name) = name
        && !valid_name(name)
    {
        return bad_name(name);
    }
    let method = &ctx.req.method;
    match (collection, method, name, rest) {
        ("secrets", &Method::GET, None, None) => secrets::list(ctx),
        ("secrets", &Method::GET, Some(n), Some("versions")) => secrets::list_versions(ctx, n),
        ("secrets", &Method::GET, Some(n), version) => secrets::get(ctx, n, version),
        ("secrets", &Method::PUT, Some(n), None) => secrets::set(ctx, n),
        ("secrets", &Method::PATCH, Some(n), version) => secrets::update(ctx, n, version),
        ("secrets", &Method::DELETE, Some(n), None) => secrets::delete(ctx, n),
        ("deletedsecrets", &Method::GET, Some(n), None) => secrets::get_deleted(ctx, n),
        ("deletedsecrets", &Method::DELETE, Some(n), None) => secrets::purge(ctx, n),
        ("keys", &Method::GET, Some(n), version) => objects::get_key(ctx, n, version),
        ("keys", &Method::PUT, Some(n), None) => object_writes::import_key(ctx, n),
        ("keys", &Method::DELETE, Some(n), None) => object_writes::delete_key(ctx, n),
        ("certificates", &Method::POST, Some(n), Some("import")) => {
            object_writes::import_certificate(ctx, n)
        }
        ("certificates", &Method::DELETE, Some(n), None) => {
            object_writes::delete_certificate(ctx, n)
        }
        ("certificates", &Method::GET, Some(n), version) => {
            objects::get_certificate(ctx, n, version)
        }
        _ => not_found_route(ctx),
    }
}

fn not_found_route(ctx: &Ctx<'_>) -> Resp {
    kv_error(
        StatusCode::BAD_REQUEST,
        "BadParameter",
        &format!(
            "The Azure double does not implement {} {}",
            ctx.req.method, ctx.req.path
        ),
        None,
    )
}
