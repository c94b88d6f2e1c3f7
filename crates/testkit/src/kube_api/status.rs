//! `Status` failure objects, shaped like the ones kube-apiserver returns.

use serde_json::{Value, json};

/// An API failure that becomes a `Status` response body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code (also `Status.code`).
    pub code: u16,
    /// `Status.reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// `Status.message`.
    pub message: String,
    /// `Status.details`, when the real server sets it.
    pub details: Option<Value>,
}

/// One `Status.details.causes` entry.
#[derive(Debug, Clone)]
pub struct Cause {
    /// e.g. `FieldValueInvalid`.
    pub reason: &'static str,
    /// Message without the field prefix.
    pub message: String,
    /// Field path such as `data[bad key]`.
    pub field: String,
}

/// The group-qualified resource name used in messages (`secrets`, `leases.coordination.k8s.io`).
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(group: &str, resource: &str, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": resource });
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d
}

impl ApiError {
    /// Renders the `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        if self.reason.is_empty()
            && let Some(m) = s.as_object_mut()
        {
            m.remove("reason");
        }
        s
    }

    /// 404 for a named object.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{} \"{name}\" not found", qualified(group, resource)),
            details: Some(details(group, resource, name)),
        }
    }

    /// 404 for an unknown path.
    pub fn path_not_found() -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            details: Some(json!({})),
        }
    }

    /// 409 AlreadyExists.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} \"{name}\" already exists", qualified(group, resource)),
            details: Some(details(group, resource, name)),
        }
    }

    /// 409 Conflict for a stale `resourceVersion`.
    pub fn conflict(group: &str, resource: &str, name: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                qualified(group, resource)
            ),
            details: Some(details(group, resource, name)),
        }
    }

    /// 409 Conflict with a custom message (e.g. namespace terminating).
    pub fn conflict_msg(group: &str, resource: &str, name: &str, message: String) -> Self {
        Self {
            code: 409,
            reason: "Conflict",
            message,
            details: Some(details(group, resource, name)),
        }
    }

    /// 422 Invalid with field causes (`<Kind> "<name>" is invalid: ...`).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let rendered: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let summary = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let mut d = json!({ "name": name, "group": group, "kind": kind });
        d["causes"] = Value::Array(
            causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect(),
        );
        if group.is_empty()
            && let Some(m) = d.as_object_mut()
        {
            m.remove("group");
        }
        Self {
            code: 422,
            reason: "Invalid",
            message: format!("{kind} \"{name}\" is invalid: {summary}"),
            details: Some(d),
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: 400,
            reason: "BadRequest",
            message: message.into(),
            details: None,
        }
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self {
            code: 405,
            reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource".into(),
            details: Some(json!({})),
        }
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
            details: None,
        }
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self {
            code: 401,
            reason: "Unauthorized",
            message: "Unauthorized".into(),
            details: None,
        }
    }

    /// 410 Gone (`Expired`) for a too-old resourceVersion.
    pub fn gone(message: impl Into<String>) -> Self {
        Self {
            code: 410,
            reason: "Expired",
            message: message.into(),
            details: None,
        }
    }

    /// 403 Forbidden (e.g. creating in a terminating namespace).
    pub fn forbidden(group: &str, resource: &str, name: &str, message: String) -> Self {
        Self {
            code: 403,
            reason: "Forbidden",
            message,
            details: Some(details(group, resource, name)),
        }
    }

    /// 409 from server-side apply conflicts: `(manager description, field path)` pairs.
    pub fn apply_conflict(conflicts: &[(String, String)]) -> Self {
        let message = if conflicts.len() == 1 {
            format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                conflicts[0].0, conflicts[0].1
            )
        } else {
            let mut managers: Vec<&String> = conflicts.iter().map(|c| &c.0).collect();
            managers.sort();
            managers.dedup();
            let mut lines = Vec::new();
            for m in managers {
                lines.push(format!("conflicts with {m}:"));
                for (_, path) in conflicts.iter().filter(|c| &c.0 == m) {
                    lines.push(format!("- {path}"));
                }
            }
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        };
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": p}))
            .collect();
        Self {
            code: 409,
            reason: "Conflict",
            message,
            details: Some(json!({ "causes": causes })),
        }
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: 500,
            reason: "InternalError",
            message: message.into(),
            details: None,
        }
    }
}

/// Shorthand result type for request handling.
pub type ApiResult<T> = Result<T, ApiError>;
