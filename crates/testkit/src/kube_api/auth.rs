//! Caller authentication, TokenRequest and TokenReview.

use super::Shared;
use super::crud::Target;
use super::http::Req;
use super::status::{ApiError, ApiResult, Cause};
use super::store::ObjKey;
use super::tokens::{DEFAULT_EXPIRATION_SECONDS, MIN_EXPIRATION_SECONDS, expiration_timestamp};
use serde_json::{Value, json};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The admin token.
    Admin,
    /// A service-account token this server issued.
    ServiceAccount {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// No credentials (only for the public endpoints).
    Anonymous,
}

/// Authenticates the `Authorization` header; `Err` means 401.
pub fn authenticate(shared: &Shared, req: &Req) -> Result<Caller, ApiError> {
    let header = req.header("authorization");
    if header.is_empty() {
        return Ok(Caller::Anonymous);
    }
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(ApiError::unauthorized)?
        .trim();
    if token == shared.admin_token {
        return Ok(Caller::Admin);
    }
    let verified = shared
        .tokens
        .verify(token)
        .map_err(|_| ApiError::unauthorized())?;
    if !sa_still_exists(shared, &verified.namespace, &verified.name, &verified.uid) {
        return Err(ApiError::unauthorized());
    }
    Ok(Caller::ServiceAccount {
        namespace: verified.namespace,
        name: verified.name,
    })
}

fn sa_still_exists(shared: &Shared, namespace: &str, name: &str, uid: &str) -> bool {
    let state = shared.lock();
    state
        .store
        .get(&ObjKey {
            group: String::new(),
            resource: "serviceaccounts".into(),
            namespace: namespace.into(),
            name: name.into(),
        })
        .is_some_and(|sa| {
            sa["metadata"]["uid"].as_str() == Some(uid)
                && sa["metadata"].get("deletionTimestamp").is_none()
        })
}

/// `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`.
pub fn token_request(shared: &Shared, req: &Req, t: &Target) -> ApiResult<(u16, Value)> {
    let body = req.body_value()?;
    let name = t.name.clone().unwrap_or_default();
    let namespace = t.namespace.clone().unwrap_or_default();
    let sa = {
        let state = shared.lock();
        state
            .store
            .get(&t.key())
            .ok_or_else(|| ApiError::not_found("", "serviceaccounts", &name))?
    };
    let spec = &body["spec"];
    let expiration = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_EXPIRATION_SECONDS);
    if expiration < MIN_EXPIRATION_SECONDS {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            &name,
            vec![Cause {
                reason: "FieldValueInvalid",
                message: format!(
                    "Invalid value: {expiration}: may not specify a duration less than 10 minutes"
                ),
                field: "spec.expirationSeconds".into(),
            }],
        ));
    }
    if expiration > 1 << 32 {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            &name,
            vec![Cause {
                reason: "FieldValueInvalid",
                message: format!(
                    "Invalid value: {expiration}: may not specify a duration larger than 2^32 seconds"
                ),
                field: "spec.expirationSeconds".into(),
            }],
        ));
    }
    let mut audiences: Vec<String> = spec["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if audiences.is_empty() {
        audiences.push(shared.tokens.api_audience().to_string());
    }
    let uid = sa["metadata"]["uid"].as_str().unwrap_or_default();
    let (token, exp) = shared
        .tokens
        .issue(&namespace, &name, uid, &audiences, expiration)
        .map_err(ApiError::internal)?;
    Ok((
        201,
        json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": null},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": spec.get("boundObjectRef").cloned().unwrap_or(Value::Null)},
            "status": {"token": token, "expirationTimestamp": expiration_timestamp(exp)},
        }),
    ))
}

/// `POST /apis/authentication.k8s.io/v1/tokenreviews`.
pub fn token_review(shared: &Shared, req: &Req) -> ApiResult<(u16, Value)> {
    let body = req.body_value()?;
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let token = spec["token"].as_str().unwrap_or_default();
    let wanted: Vec<String> = spec["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec![shared.tokens.api_audience().to_string()]);
    let mut review = json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": {"user": {}},
    });
    let result = (|| -> Result<(super::tokens::VerifiedToken, Vec<String>), String> {
        if token == shared.admin_token {
            return Err("[invalid bearer token, token lookup failed]".into());
        }
        let v = shared.tokens.verify(token).map_err(|e| format!("[{e}]"))?;
        let matched: Vec<String> = wanted
            .iter()
            .filter(|a| v.audiences.contains(a))
            .cloned()
            .collect();
        if matched.is_empty() {
            return Err("[invalid bearer token, token audiences [\"".to_string()
                + &v.audiences.join("\",\"")
                + "\"] is invalid for the target audiences [\""
                + &wanted.join("\",\"")
                + "\"], unknown]");
        }
        if !sa_still_exists(shared, &v.namespace, &v.name, &v.uid) {
            return Err(
                "[invalid bearer token, service account token has been invalidated]".into(),
            );
        }
        Ok((v, matched))
    })();
    match result {
        Ok((v, matched)) => {
            let jti = v.claims["jti"].as_str().unwrap_or_default().to_string();
            review["status"] = json!({
                "authenticated": true,
                "user": {
                    "username": format!("system:serviceaccount:{}:{}", v.namespace, v.name),
                    "uid": v.uid,
                    "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{}", v.namespace), "system:authenticated"],
                    "extra": {"authentication.kubernetes.io/credential-id": [format!("JTI={jti}")]},
                },
                "audiences": matched,
            });
        }
        Err(e) => {
            review["status"] = json!({"user": {}, "error": e});
        }
    }
    Ok((201, review))
}
