//! API-server error text for status, events and logs, with echoed values removed.
//!
//! The API server echoes the offending value in its messages (a 422 for a templated label value
//! says `metadata.labels: Invalid value: "<the value>": …`), and a templated label or annotation
//! may carry secret data. What reaches an ExternalSecret's status, its events or the logs keeps
//! the HTTP code, the reason, and each cause's field path and reason, never a message.

use std::fmt::Write as _;

/// A value-free description of a Kubernetes client error.
pub fn api_error(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                "Failure"
            } else {
                status.reason.as_str()
            };
            let mut out = format!("API error {reason} ({})", status.code);
            if let Some(details) = &status.details {
                let causes: Vec<String> = details
                    .causes
                    .iter()
                    .map(|c| match (c.field.is_empty(), c.reason.is_empty()) {
                        (false, false) => format!("{}: {}", c.field, c.reason),
                        (false, true) => c.field.clone(),
                        (true, false) => c.reason.clone(),
                        (true, true) => "unspecified".to_string(),
                    })
                    .collect();
                if !causes.is_empty() {
                    let _ = write!(out, ": {}", causes.join(", "));
                }
            }
            out
        }
        // Decoding errors may quote the payload.
        kube::Error::SerdeError(_) => "the API server's response could not be decoded".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::response::{StatusCause, StatusDetails};

    #[test]
    fn echoed_values_are_dropped_reason_code_and_fields_kept() {
        let canary = "CANARY-7f3a";
        let status = kube::core::Status {
            code: 422,
            reason: "Invalid".into(),
            message: format!(
                "Secret \"app\" is invalid: metadata.labels: Invalid value: \"{canary}!\": a valid label must be …"
            ),
            details: Some(StatusDetails {
                name: "app".into(),
                kind: "secrets".into(),
                causes: vec![
                    StatusCause {
                        reason: "FieldValueInvalid".into(),
                        message: format!("Invalid value: \"{canary}!\""),
                        field: "metadata.labels".into(),
                    },
                    StatusCause {
                        reason: String::new(),
                        message: canary.into(),
                        field: String::new(),
                    },
                ],
                group: String::new(),
                uid: String::new(),
                retry_after_seconds: 0,
            }),
            ..Default::default()
        };
        let text = api_error(&kube::Error::Api(Box::new(status)));
        assert_eq!(
            text,
            "API error Invalid (422): metadata.labels: FieldValueInvalid, unspecified"
        );
        assert!(!text.contains(canary));
        let empty = api_error(&kube::Error::Api(Box::new(kube::core::Status {
            code: 500,
            ..Default::default()
        })));
        assert_eq!(empty, "API error Failure (500)");
        let serde = serde_json::from_str::<u32>(&format!("\"{canary}\"")).unwrap_err();
        assert!(!api_error(&kube::Error::SerdeError(serde)).contains(canary));
    }
}
