//! Managed identity token endpoints: IMDS style (`/metadata/identity/oauth2/token`, header
//! `Metadata: true`) and App Service style (`/msi/token`, api-version 2019-08-01, header
//! `X-IDENTITY-HEADER`).

use http::{Method, StatusCode};
use serde_json::json;

use super::entra::{grant, issue_token};
use super::server::{Req, Resp, Shared, json_response};
use super::state::now_secs;

/// Client id reported for the system-assigned identity.
pub const SYSTEM_ASSIGNED_CLIENT_ID: &str = "5e5e5e5e-0000-4000-8000-000000000001";

fn imds_error(status: StatusCode, error: &str, description: &str) -> Resp {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// Which registered identity a request selects; `Err` is the error description.
fn select_identity(shared: &Shared, req: &Req) -> Result<String, String> {
    if req.query_param("object_id").is_some()
        || req.query_param("msi_res_id").is_some()
        || req.query_param("mi_res_id").is_some()
    {
        return Err(
            "Identity not found: the Azure double only selects identities by client_id".into(),
        );
    }
    let state = shared.lock();
    match req.query_param("client_id") {
        Some(id) => state
            .managed_identities
            .iter()
            .any(|m| m.as_deref() == Some(id))
            .then(|| id.to_string())
            .ok_or_else(|| "Identity not found".to_string()),
        None => state
            .managed_identities
            .iter()
            .any(Option::is_none)
            .then(|| SYSTEM_ASSIGNED_CLIENT_ID.to_string())
            .ok_or_else(|| "Identity not found".to_string()),
    }
}

fn common(
    shared: &Shared,
    req: &Req,
    expected_api_version: &str,
) -> Result<(String, String), Resp> {
    if req.method != Method::GET {
        return Err(imds_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "Only GET is supported",
        ));
    }
    match req.query_param("api-version") {
        None => {
            return Err(imds_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Required query variable 'api-version' is missing",
            ));
        }
        Some(v)
            if v != expected_api_version
                && !(expected_api_version == "2018-02-01" && v == "2019-08-01") =>
        {
            return Err(imds_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("Invalid api-version '{v}'"),
            ));
        }
        Some(_) => {}
    }
    let Some(resource) = req.query_param("resource").filter(|r| !r.is_empty()) else {
        return Err(imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        ));
    };
    let client_id = select_identity(shared, req)
        .map_err(|d| imds_error(StatusCode::BAD_REQUEST, "invalid_request", &d))?;
    Ok((
        resource.trim_end_matches("/.default").to_string(),
        client_id,
    ))
}

/// `GET /metadata/identity/oauth2/token` (Azure VM IMDS).
pub(crate) fn handle_imds(shared: &Shared, req: &Req) -> Resp {
    shared.lock().count_token(grant::MANAGED_IDENTITY);
    if !req
        .header("metadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return imds_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    let (resource, client_id) = match common(shared, req, "2018-02-01") {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let tenant = shared.config.tenant_id.clone();
    match issue_token(shared, &tenant, &client_id, &resource) {
        Ok((token, lifetime)) => {
            let now = now_secs();
            json_response(
                StatusCode::OK,
                &json!({
                    "access_token": token,
                    "client_id": client_id,
                    "expires_in": lifetime.to_string(),
                    "expires_on": (now + lifetime).to_string(),
                    "ext_expires_in": lifetime.to_string(),
                    "not_before": now.to_string(),
                    "resource": resource,
                    "token_type": "Bearer",
                }),
            )
        }
        Err(e) => imds_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    }
}

/// `GET /msi/token` (App Service / `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
pub(crate) fn handle_app_service(shared: &Shared, req: &Req) -> Resp {
    shared.lock().count_token(grant::MANAGED_IDENTITY);
    if req.header("x-identity-header") != Some(shared.config.identity_header.as_str()) {
        return imds_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER",
        );
    }
    let (resource, client_id) = match common(shared, req, "2019-08-01") {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let tenant = shared.config.tenant_id.clone();
    match issue_token(shared, &tenant, &client_id, &resource) {
        Ok((token, lifetime)) => json_response(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "expires_on": (now_secs() + lifetime).to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id,
            }),
        ),
        Err(e) => imds_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    }
}
