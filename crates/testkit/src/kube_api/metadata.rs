//! ObjectMeta validation: label and annotation keys/values, annotation size, finalizer names.

use super::status::Cause;
use serde_json::Value;

const NAME_FMT: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_FMT: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
/// Maximum total size of annotations (keys + values).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Problems with a qualified name (`prefix/name` or `name`), as the apiserver words them.
fn qualified_name_errors(key: &str) -> Vec<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let mut errs = Vec::new();
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_string());
    } else if !is_name_part(name) {
        errs.push(NAME_FMT.to_string());
    }
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else if !super::util::is_dns1123_subdomain(p) {
            errs.push("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
        }
    }
    errs
}

fn invalid(field: &str, value: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {value:?}: {detail}"),
        field: field.into(),
    }
}

/// Validates labels, annotations and finalizers of `obj.metadata`.
pub fn validate(obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let meta = &obj["metadata"];
    if let Some(labels) = meta["labels"].as_object() {
        for (k, v) in labels {
            for e in qualified_name_errors(k) {
                causes.push(invalid("metadata.labels", k, &e));
            }
            let value = v.as_str().unwrap_or_default();
            if value.len() > 63 {
                causes.push(invalid(
                    "metadata.labels",
                    value,
                    "must be no more than 63 characters",
                ));
            } else if !value.is_empty() && !is_name_part(value) {
                causes.push(invalid("metadata.labels", value, VALUE_FMT));
            }
        }
    }
    if let Some(annotations) = meta["annotations"].as_object() {
        let mut total = 0;
        for (k, v) in annotations {
            total += k.len() + v.as_str().map(str::len).unwrap_or(0);
            for e in qualified_name_errors(&k.to_lowercase()) {
                causes.push(invalid("metadata.annotations", k, &e));
            }
        }
        if total > TOTAL_ANNOTATION_SIZE_LIMIT {
            causes.push(Cause {
                reason: "FieldValueTooLong",
                message: format!(
                    "Too long: may not be more than {TOTAL_ANNOTATION_SIZE_LIMIT} bytes"
                ),
                field: "metadata.annotations".into(),
            });
        }
    }
    if let Some(finalizers) = meta["finalizers"].as_array() {
        for (i, f) in finalizers.iter().enumerate() {
            let f = f.as_str().unwrap_or_default();
            for e in qualified_name_errors(f) {
                causes.push(invalid(&format!("metadata.finalizers[{i}]"), f, &e));
            }
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_annotations_and_finalizers() {
        let ok = json!({"metadata":{"labels":{"app.kubernetes.io/name":"x","empty":""},
            "annotations":{"Example.com/Note":"anything goes"},"finalizers":["kubernetes","example.com/cleanup"]}});
        assert!(validate(&ok).is_empty());
        let bad = json!({"metadata":{"labels":{"bad key":"v","k":"bad value","long":"x".repeat(64)},
            "finalizers":["-bad"]}});
        let fields: Vec<String> = validate(&bad).into_iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            vec![
                "metadata.labels",
                "metadata.labels",
                "metadata.labels",
                "metadata.finalizers[0]"
            ]
        );
        let huge =
            json!({"metadata":{"annotations":{"a": "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT)}}});
        assert_eq!(validate(&huge)[0].reason, "FieldValueTooLong");
    }
}
