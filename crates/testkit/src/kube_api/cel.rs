//! CRD validation rules (`x-kubernetes-validations`): each rule's CEL expression is evaluated
//! with `self` bound to the value at its schema node, as the API server does after structural
//! validation; a rule that is false (or fails to evaluate) is a `FieldValueInvalid` cause
//! `<path>: Invalid value: "<type>": <message>`.
//!
//! Not implemented: `oldSelf` / transition rules, `messageExpression`, `fieldPath`, `reason`,
//! the Kubernetes CEL libraries (lists, regex, URLs, quantities) beyond CEL's standard
//! functions, and cost budgets. A rule that does not compile is reported as
//! `compilation failed: ...` (the real API server rejects such a CRD when it is created).

use super::schema::{Violation, join, type_name};
use serde_json::Value;

/// Evaluates one rule with `self` = `value`: `Ok(true)` when it holds.
pub fn evaluate(rule: &str, value: &Value) -> Result<bool, String> {
    let program = cel::Program::compile(rule).map_err(|e| format!("compilation failed: {e}"))?;
    let mut context = cel::Context::default();
    let this = cel::to_value(value).map_err(|e| e.to_string())?;
    context.add_variable_from_value("self", this);
    match program.execute(&context) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("rule evaluated to {other:?}, not a bool")),
        Err(e) => Err(e.to_string()),
    }
}

/// Every rule of `schema` (recursively) that `value` breaks, with the API server's cause.
pub fn validate(value: &Value, schema: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    validate_at(value, schema, "", &mut out);
    out
}

fn validate_at(value: &Value, schema: &Value, path: &str, out: &mut Vec<Violation>) {
    if value.is_null() {
        return;
    }
    for rule in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(expr) = rule.get("rule").and_then(Value::as_str) else {
            continue;
        };
        let problem = match evaluate(expr, value) {
            Ok(true) => continue,
            Ok(false) => rule
                .get("message")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| format!("failed rule: {expr}")),
            Err(e) => format!("{e}, evaluating rule: {expr}"),
        };
        out.push((
            path.to_string(),
            "FieldValueInvalid",
            format!("Invalid value: \"{}\": {problem}", type_name(value)),
        ));
    }
    match value {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, v) in m {
                let child = props
                    .and_then(|p| p.get(k))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                if let Some(child) = child {
                    validate_at(v, child, &join(path, k), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_at(item, item_schema, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_see_self_and_report_like_the_api_server() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "has(self.a) || has(self.b)", "message": "a or b"},
                {"rule": "!has(self.items) || size(self.items) <= 2"}],
            "properties": {"items": {"type": "array", "items": {"type": "object",
                "x-kubernetes-validations": [{"rule": "(has(self.x) ? 1 : 0) + (has(self.y) ? 1 : 0) <= 1", "message": "x or y"}]}}}}}});
        #[rustfmt::skip]
        let cases = [
            (json!({"spec": {"a": 1}}), vec![]),
            (json!({"spec": {}}), vec![("spec", "Invalid value: \"object\": a or b")]),
            (json!({"spec": {"b": "x", "items": [{}, {"x": 1, "y": 2}, {}]}}), vec![
                ("spec", "Invalid value: \"object\": failed rule: !has(self.items) || size(self.items) <= 2"),
                ("spec.items[1]", "Invalid value: \"object\": x or y"),
            ]),
        ];
        for (value, expected) in cases {
            let got: Vec<(String, String)> = validate(&value, &schema)
                .into_iter()
                .map(|(p, reason, m)| {
                    assert_eq!(reason, "FieldValueInvalid");
                    (p, m)
                })
                .collect();
            let expected: Vec<(String, String)> = expected
                .into_iter()
                .map(|(p, m)| (p.to_string(), m.to_string()))
                .collect();
            assert_eq!(got, expected, "{value}");
        }
    }

    #[test]
    fn enum_lists_maps_and_strings() -> Result<(), String> {
        let target = json!({"deletionPolicy": "Delete", "creationPolicy": "Merge"});
        assert!(!evaluate(
            "!(self.deletionPolicy == 'Delete' && self.creationPolicy in ['Merge', 'None'])",
            &target
        )?);
        let template =
            json!({"metadata": {"annotations": {"kubernetes.io/service-account.name": "x"}}});
        assert!(evaluate(
            "'kubernetes.io/service-account.name' in self.metadata.annotations",
            &template
        )?);
        assert!(evaluate("this is not cel", &template).is_err());
        Ok(())
    }
}
