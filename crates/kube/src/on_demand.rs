//! Refresh on demand (ESO #675): a caller — a CI pipeline, a Vault event hook — asks the
//! operator over HTTP for an immediate refresh of one ExternalSecret.
//!
//! The caller authenticates with a Kubernetes bearer token (a ServiceAccount token, `kubectl
//! create token`), which the API server reviews (`TokenReview`); the caller must be allowed to
//! `patch` that ExternalSecret (`SubjectAccessReview`), exactly what setting ESO's
//! `external-secrets.io/force-sync` annotation by hand needs, so the endpoint grants nothing
//! the caller could not already do. The operator then sets that annotation to the current time:
//! the refresh follows ESO's rules for a changed annotation, the request is visible in the
//! object, and a ClusterExternalSecret's mirrored annotation is left alone.
//!
//! The HTTP side is the operator binary's; what is decided here is plain data
//! ([`parse_bearer`], [`validate_target`], [`RefreshDenied::http_status`]) with table tests.

use std::collections::BTreeMap;

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use secretsync_model::external_secret::{ExternalSecret, labels};

use crate::sanitize;

/// Longest bearer token accepted (Kubernetes tokens are a few KiB at most).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a refresh request was not carried out. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshDenied {
    /// No bearer token, or one the API server does not accept.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller may not patch this ExternalSecret.
    #[error("forbidden: {user} may not patch ExternalSecret {namespace}/{name}")]
    Forbidden {
        /// The authenticated user name.
        user: String,
        /// Namespace asked for.
        namespace: String,
        /// Name asked for.
        name: String,
    },
    /// The namespace or name is not a valid Kubernetes name.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No such ExternalSecret.
    #[error("ExternalSecret {namespace}/{name} not found")]
    NotFound {
        /// Namespace asked for.
        namespace: String,
        /// Name asked for.
        name: String,
    },
    /// The API server could not be asked.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl RefreshDenied {
    /// The HTTP status answering this denial.
    pub fn http_status(&self) -> u16 {
        match self {
            RefreshDenied::Unauthenticated(_) => 401,
            RefreshDenied::Forbidden { .. } => 403,
            RefreshDenied::BadRequest(_) => 400,
            RefreshDenied::NotFound { .. } => 404,
            RefreshDenied::Unavailable(_) => 503,
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn parse_bearer(header: Option<&str>) -> Result<&str, RefreshDenied> {
    let missing =
        || RefreshDenied::Unauthenticated("an Authorization: Bearer token is required".into());
    let value = header.ok_or_else(missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    if token.len() > MAX_TOKEN_BYTES || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RefreshDenied::Unauthenticated(
            "the bearer token is malformed".into(),
        ));
    }
    Ok(token)
}

/// Checks that `namespace` is a DNS-1123 label and `name` a DNS-1123 subdomain.
pub fn validate_target(namespace: &str, name: &str) -> Result<(), RefreshDenied> {
    fn label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }
    if !label(namespace) {
        return Err(RefreshDenied::BadRequest(
            "namespace: expected a DNS-1123 label (lowercase letters, digits, '-', at most 63)"
                .into(),
        ));
    }
    if name.len() > 253 || !name.split('.').all(label) {
        return Err(RefreshDenied::BadRequest(
            "name: expected a DNS-1123 subdomain (lowercase letters, digits, '-', '.', at most 253)"
                .into(),
        ));
    }
    Ok(())
}

/// Who asked, once the refresh was requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshAccepted {
    /// The authenticated user name (e.g. `system:serviceaccount:ci:deployer`).
    pub user: String,
    /// The value the `force-sync` annotation was set to.
    pub stamp: String,
}

/// Authenticates `token`, authorizes `patch` on ExternalSecret `namespace/name` for its user
/// and sets the `force-sync` annotation to `stamp` (the caller's clock, e.g. RFC 3339 now).
pub async fn request_refresh(
    client: &kube::Client,
    token: &str,
    namespace: &str,
    name: &str,
    stamp: &str,
) -> Result<RefreshAccepted, RefreshDenied> {
    validate_target(namespace, name)?;
    let unavailable = |what: &str, e: kube::Error| {
        RefreshDenied::Unavailable(format!("{what}: {}", sanitize::api_error(&e)))
    };
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    let reviewed = Api::<TokenReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| unavailable("reviewing the token", e))?;
    let status = reviewed.status.unwrap_or_default();
    let user = status.user.unwrap_or_default();
    if status.authenticated != Some(true) {
        return Err(RefreshDenied::Unauthenticated(
            "the API server did not accept the token".into(),
        ));
    }
    let user_name = user.username.clone().unwrap_or_default();
    let access = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: user.username,
            groups: user.groups,
            uid: user.uid,
            extra: user
                .extra
                .map(|e| e.into_iter().collect::<BTreeMap<_, _>>()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some("patch".into()),
                group: Some("external-secrets.io".into()),
                resource: Some("externalsecrets".into()),
                namespace: Some(namespace.to_string()),
                name: Some(name.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let decided = Api::<SubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &access)
        .await
        .map_err(|e| unavailable("reviewing the caller's access", e))?;
    if !decided.status.is_some_and(|s| s.allowed) {
        return Err(RefreshDenied::Forbidden {
            user: user_name,
            namespace: namespace.to_string(),
            name: name.to_string(),
        });
    }
    let patch = serde_json::json!({"metadata": {"annotations": {labels::FORCE_SYNC: stamp}}});
    Api::<ExternalSecret>::namespaced(client.clone(), namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 404 => RefreshDenied::NotFound {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
            _ => unavailable("setting the force-sync annotation", e),
        })?;
    Ok(RefreshAccepted {
        user: user_name,
        stamp: stamp.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let ok = |h: &str| parse_bearer(Some(h)).ok().map(str::to_string);
        let table: &[(Option<&str>, Option<&str>)] = &[
            (Some("Bearer abc.def"), Some("abc.def")),
            (Some("bearer abc"), Some("abc")),
            (Some("  Bearer   abc  "), Some("abc")),
            (Some("Basic abc"), None),
            (Some("Bearer"), None),
            (Some("Bearer "), None),
            (Some("Bearer a b"), None),
            (Some("Bearer a\u{7}"), None),
            (Some(""), None),
            (None, None),
        ];
        for (header, want) in table {
            let got = header.and_then(ok);
            assert_eq!(got.as_deref(), *want, "{header:?}");
            if want.is_none() {
                let err = parse_bearer(*header).unwrap_err();
                assert_eq!(err.http_status(), 401, "{header:?}");
            }
        }
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert!(parse_bearer(Some(&long)).is_err());
    }

    #[test]
    fn targets() {
        let table = [
            ("apps", "db-credentials", true),
            ("apps", "db.credentials.v1", true),
            ("Apps", "x", false),
            ("apps", "", false),
            ("", "x", false),
            ("-apps", "x", false),
            ("apps", "x..y", false),
            ("apps", "x/y", false),
            ("apps", "../secrets", false),
            (&"a".repeat(64), "x", false),
        ];
        for (ns, name, ok) in table {
            let got = validate_target(ns, name);
            assert_eq!(got.is_ok(), ok, "{ns:?} {name:?}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.http_status(), 400);
            }
        }
    }

    #[test]
    fn statuses() {
        let forbidden = RefreshDenied::Forbidden {
            user: "u".into(),
            namespace: "n".into(),
            name: "x".into(),
        };
        let not_found = RefreshDenied::NotFound {
            namespace: "n".into(),
            name: "x".into(),
        };
        let table = [
            (RefreshDenied::Unauthenticated(String::new()), 401),
            (forbidden, 403),
            (RefreshDenied::BadRequest(String::new()), 400),
            (not_found, 404),
            (RefreshDenied::Unavailable(String::new()), 503),
        ];
        for (denial, status) in table {
            assert_eq!(denial.http_status(), status, "{denial:?}");
        }
    }
}
