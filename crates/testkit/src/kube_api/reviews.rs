//! `SelfSubjectAccessReview` (`kubectl auth can-i`) and `SubjectAccessReview`, answered by the
//! same RBAC policy that guards requests.

use super::Shared;
use super::http::Req;
use super::rbac::{Policy, Request, User};
use super::status::{ApiError, ApiResult};
use serde_json::{Value, json};

fn attributes(spec: &Value) -> ApiResult<Request> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
        return Ok(Request::Resource {
            verb: s(&r["verb"]),
            group: s(&r["group"]),
            resource: s(&r["resource"]),
            subresource: s(&r["subresource"]),
            namespace: s(&r["namespace"]),
            name: s(&r["name"]),
        });
    }
    if let Some(n) = spec.get("nonResourceAttributes").filter(|n| n.is_object()) {
        return Ok(Request::NonResource {
            verb: s(&n["verb"]),
            path: s(&n["path"]),
        });
    }
    Err(ApiError::invalid(
        "authorization.k8s.io",
        "SubjectAccessReview",
        "",
        vec![super::status::Cause {
            reason: "FieldValueRequired",
            message: "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
            field: "spec.resourceAttributes".into(),
        }],
    ))
}

/// `POST /apis/authorization.k8s.io/v1/{selfsubjectaccessreviews,subjectaccessreviews}`.
/// `caller` is `None` for the admin, who may do everything.
pub fn access_review(
    shared: &Shared,
    req: &Req,
    plural: &str,
    caller: Option<&User>,
) -> ApiResult<(u16, Value)> {
    let body = req.body_value()?;
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let attrs = attributes(&spec)?;
    let (kind, subject) = if plural == "selfsubjectaccessreviews" {
        ("SelfSubjectAccessReview", caller.cloned())
    } else {
        let user = spec["user"].as_str().unwrap_or_default().to_string();
        let groups = spec["groups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        ("SubjectAccessReview", Some(User { name: user, groups }))
    };
    let allowed = match &subject {
        None => true,
        Some(u) if u.groups.iter().any(|g| g == "system:masters") => true,
        Some(u) => Policy::from_store(&shared.lock().store).allows(u, &attrs),
    };
    let mut status = json!({"allowed": allowed});
    if !allowed {
        status["reason"] = json!("");
    }
    Ok((
        201,
        json!({
            "kind": kind,
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        }),
    ))
}
