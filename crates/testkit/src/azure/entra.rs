//! Entra ID (v2.0 endpoints): the client-credentials token endpoint (client secret, certificate
//! assertion, federated assertion), OpenID discovery, instance discovery and the signing JWKS.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::jwt::ParsedJwt;
use super::server::{Req, Resp, Shared, json_response};
use super::state::{AppRegistration, IssuerKeys, entra_timestamp, now_secs};

/// `client_assertion_type` for JWT bearer assertions.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Token-request grant labels used by the counters.
pub mod grant {
    /// `client_credentials` with `client_secret`.
    pub const CLIENT_SECRET: &str = "client_secret";
    /// `client_credentials` with a certificate-signed `client_assertion`.
    pub const CLIENT_CERTIFICATE: &str = "client_certificate";
    /// `client_credentials` with a federated (workload identity) `client_assertion`.
    pub const FEDERATED: &str = "federated";
    /// Managed identity endpoint (IMDS or App Service style).
    pub const MANAGED_IDENTITY: &str = "managed_identity";
    /// Requests that carried neither a secret nor an assertion, or another grant type.
    pub const OTHER: &str = "other";
}

/// An AADSTS error response.
pub(crate) fn aad_error(
    shared: &Shared,
    status: StatusCode,
    error: &str,
    code: u32,
    message: &str,
) -> Resp {
    let now = now_secs();
    let timestamp = entra_timestamp(now);
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {message} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{}/error?code={code}", shared.config.base_url),
        }),
    )
}

/// Routes Entra paths; `None` when the path is not an Entra path.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Option<Resp> {
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match (&req.method, segments.as_slice()) {
        (&Method::POST, [tenant, "oauth2", "v2.0", "token"]) => Some(token(shared, req, tenant)),
        (&Method::GET, [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            Some(openid_configuration(shared, req, tenant))
        }
        (&Method::GET, ["common", "discovery", "instance"]) => {
            Some(instance_discovery(shared, req))
        }
        (&Method::GET, [_tenant, "discovery", "v2.0", "keys"]) => Some(json_response(
            StatusCode::OK,
            &json!({"keys": [shared.signer.jwk()]}),
        )),
        _ => None,
    }
}

fn tenant_known(shared: &Shared, tenant: &str) -> bool {
    tenant == shared.config.tenant_id || shared.lock().apps.keys().any(|(t, _)| t == tenant)
}

fn unknown_tenant(shared: &Shared, tenant: &str) -> Resp {
    aad_error(
        shared,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
    )
}

fn openid_configuration(shared: &Shared, req: &Req, tenant: &str) -> Resp {
    if !tenant_known(shared, tenant) {
        return unknown_tenant(shared, tenant);
    }
    let base = req.origin(&shared.config.base_url);
    json_response(
        StatusCode::OK,
        &json!({
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{base}/{tenant}/v2.0"),
            "request_uri_parameter_supported": false,
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
            "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }),
    )
}

fn instance_discovery(shared: &Shared, req: &Req) -> Resp {
    let base = req.origin(&shared.config.base_url);
    let host = base.trim_start_matches("https://").to_string();
    // The tenant comes from the authorization endpoint being validated: {base}/{tenant}/oauth2/...
    let tenant = req
        .query_param("authorization_endpoint")
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next().map(str::to_string))
        })
        .unwrap_or_else(|| "common".to_string());
    json_response(
        StatusCode::OK,
        &json!({
            "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }),
    )
}

/// Issues an access token for `resource` and returns the Entra token response.
pub(crate) fn issue_token(
    shared: &Shared,
    tenant: &str,
    client_id: &str,
    resource: &str,
) -> Result<(String, i64), String> {
    let now = now_secs();
    let lifetime = shared.lock().token_lifetime_secs;
    // A stable object id per client id.
    let hash = digest::digest(&digest::SHA256, client_id.as_bytes());
    let mut oid_bytes = [0u8; 16];
    oid_bytes.copy_from_slice(&hash.as_ref()[..16]);
    let oid = uuid::Uuid::from_bytes(oid_bytes).to_string();
    let claims = json!({
        "aud": resource,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "appid": client_id, "azp": client_id, "tid": tenant,
        "oid": oid, "sub": oid, "idtyp": "app", "ver": "1.0",
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    shared.signer.sign(&claims).map(|t| (t, lifetime))
}

fn form(req: &Req) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn token(shared: &Shared, req: &Req, tenant: &str) -> Resp {
    let form = form(req);
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let label = if param("client_secret").is_some() {
        grant::CLIENT_SECRET
    } else if let Some(assertion) = param("client_assertion") {
        if is_certificate_assertion(assertion, param("client_id")) {
            grant::CLIENT_CERTIFICATE
        } else {
            grant::FEDERATED
        }
    } else {
        grant::OTHER
    };
    shared.lock().count_token(label);
    let result = token_inner(shared, req, tenant, &param, label);
    if result.status() != StatusCode::OK {
        shared.lock().counters.token_failures += 1;
    }
    result
}

fn is_certificate_assertion(assertion: &str, client_id: Option<&str>) -> bool {
    ParsedJwt::parse(assertion).is_ok_and(|jwt| {
        (jwt.header_str("x5t").is_some() || jwt.header_str("x5t#S256").is_some())
            && jwt.claim_str("iss").is_some()
            && jwt.claim_str("iss") == client_id
    })
}

fn token_inner<'a>(
    shared: &Shared,
    req: &Req,
    tenant: &str,
    param: &dyn Fn(&str) -> Option<&'a str>,
    label: &str,
) -> Resp {
    let bad = |error: &str, code: u32, message: String| {
        aad_error(shared, StatusCode::BAD_REQUEST, error, code, &message)
    };
    let unauthorized = |code: u32, message: String| {
        aad_error(
            shared,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            &message,
        )
    };
    if !tenant_known(shared, tenant) {
        return unknown_tenant(shared, tenant);
    }
    match param("grant_type") {
        Some("client_credentials") => {}
        None => {
            return bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.".into(),
            );
        }
        Some(other) => {
            return bad(
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            );
        }
    }
    let Some(client_id) = param("client_id") else {
        return bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.".into(),
        );
    };
    let Some(scope) = param("scope") else {
        return bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.".into(),
        );
    };
    let Some(resource) = scope
        .split(' ')
        .next()
        .and_then(|s| s.strip_suffix("/.default"))
    else {
        return bad(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let now = now_secs();
    {
        let state = shared.lock();
        let Some(app) = state.apps.get(&(tenant.to_string(), client_id.to_string())) else {
            return bad(
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            );
        };
        let outcome = match label {
            grant::CLIENT_SECRET => check_secret(app, param("client_secret").unwrap_or_default(), client_id),
            grant::CLIENT_CERTIFICATE | grant::FEDERATED => {
                if param("client_assertion_type") != Some(JWT_BEARER) {
                    Err((400, "invalid_request", 700232, format!("The client_assertion_type must be '{JWT_BEARER}'.")))
                } else {
                    let assertion = param("client_assertion").unwrap_or_default();
                    match ParsedJwt::parse(assertion) {
                        Err(e) => Err((400, "invalid_request", 50027, format!("JWT token is invalid or malformed ({e})."))),
                        Ok(jwt) if label == grant::CLIENT_CERTIFICATE => {
                            let token_endpoint = format!("{}/{tenant}/oauth2/v2.0/token", req.origin(&shared.config.base_url));
                            check_certificate_assertion(app, &jwt, &token_endpoint, now)
                        }
                        Ok(jwt) => check_federated_assertion(&state.trusted_issuers, app, &jwt, now),
                    }
                }
            }
            _ => Err((401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into())),
        };
        if let Err((status, error, code, message)) = outcome {
            drop(state);
            return if status == 401 {
                unauthorized(code, message)
            } else {
                bad(error, code, message)
            };
        }
    }
    match issue_token(shared, tenant, client_id, resource) {
        Ok((access_token, lifetime)) => json_response(
            StatusCode::OK,
            &json!({
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": access_token,
            }),
        ),
        Err(e) => aad_error(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            &e,
        ),
    }
}

/// (HTTP status, OAuth error, AADSTS code, message)
type Rejection = (u16, &'static str, u32, String);

fn check_secret(app: &AppRegistration, presented: &str, client_id: &str) -> Result<(), Rejection> {
    if app.secrets.iter().any(|s| s.expose_secret() == presented) {
        return Ok(());
    }
    Err((
        401,
        "invalid_client",
        7000215,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ),
    ))
}

fn check_times(jwt: &ParsedJwt, now: i64) -> Result<(), Rejection> {
    let exp = jwt.claim_i64("exp");
    let nbf = jwt.claim_i64("nbf").unwrap_or(i64::MIN);
    if exp.is_none_or(|exp| exp <= now) || nbf > now + 300 {
        return Err((
            400,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.",
                entra_timestamp(now),
                if nbf == i64::MIN {
                    "unset".to_string()
                } else {
                    entra_timestamp(nbf)
                },
                exp.map_or_else(|| "unset".to_string(), entra_timestamp),
            ),
        ));
    }
    Ok(())
}

fn check_certificate_assertion(
    app: &AppRegistration,
    jwt: &ParsedJwt,
    token_endpoint: &str,
    now: i64,
) -> Result<(), Rejection> {
    let sha1 = jwt.header_str("x5t");
    let sha256 = jwt.header_str("x5t#S256");
    let cert = app.certificates.iter().find(|c| {
        let s1 = URL_SAFE_NO_PAD.encode(digest::digest(
            &digest::SHA1_FOR_LEGACY_USE_ONLY,
            c.as_ref(),
        ));
        let s256 = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, c.as_ref()));
        sha1.is_some_and(|t| t.trim_end_matches('=') == s1)
            || sha256.is_some_and(|t| t.trim_end_matches('=') == s256)
    });
    let Some(cert) = cert else {
        return Err((
            401,
            "invalid_client",
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}']",
                sha256.or(sha1).unwrap_or("")
            ),
        ));
    };
    if jwt.verify_with_certificate(cert).is_err() {
        return Err((
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.".into(),
        ));
    }
    if !jwt.audiences().iter().any(|a| a == token_endpoint) {
        return Err((
            401,
            "invalid_client",
            700021,
            format!(
                "Client assertion audience claim does not match Realm issuer. Expected '{token_endpoint}', found '{}'.",
                jwt.audiences().join(",")
            ),
        ));
    }
    check_times(jwt, now)
}

fn check_federated_assertion(
    trusted: &std::collections::BTreeMap<String, IssuerKeys>,
    app: &AppRegistration,
    jwt: &ParsedJwt,
    now: i64,
) -> Result<(), Rejection> {
    let issuer = jwt.claim_str("iss").unwrap_or("");
    let subject = jwt.claim_str("sub").unwrap_or("");
    let audiences = jwt.audiences();
    let matched = app
        .federated
        .iter()
        .any(|f| f.issuer == issuer && f.subject == subject && audiences.contains(&f.audience));
    if !matched {
        return Err((
            400,
            "invalid_request",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{}'.",
                audiences.join(",")
            ),
        ));
    }
    let verified = match trusted.get(issuer) {
        None => {
            return Err((
                400,
                "invalid_request",
                50166,
                format!(
                    "Request to External OIDC endpoint failed: no signing keys are configured in the Azure double for issuer '{issuer}'."
                ),
            ));
        }
        Some(IssuerKeys::Spki(der)) => jwt.verify_with_spki(der).is_ok(),
        Some(IssuerKeys::Jwks(keys)) => {
            let kid = jwt.header_str("kid");
            keys.iter()
                .filter(|k| {
                    kid.is_none()
                        || k.get("kid")
                            .and_then(Value::as_str)
                            .is_none_or(|k| Some(k) == kid)
                })
                .any(|k| jwt.verify_with_jwk(k).is_ok())
        }
    };
    if !verified {
        return Err((
            401,
            "invalid_client",
            50013,
            "Assertion failed signature validation. [Reason - The key was not found.]".into(),
        ));
    }
    check_times(jwt, now)
}
