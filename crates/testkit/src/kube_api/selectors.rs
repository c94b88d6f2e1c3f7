//! Label and field selectors, with the syntax the apiserver accepts.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// Combined label and field selector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    labels: Vec<LabelReq>,
    fields: Vec<(String, bool, String)>,
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '(' => {
                depth += 1;
                cur.push(ch)
            }
            ')' => {
                depth -= 1;
                cur.push(ch)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_set(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("expected '(' and ')' around values in {s:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

fn valid_label_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

impl Selector {
    /// Parses `labelSelector` and `fieldSelector` query values; `Err` carries the message.
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Self, String> {
        let mut sel = Selector::default();
        for part in split_top_level(labels.unwrap_or_default()) {
            let req = if let Some(k) = part.strip_prefix('!') {
                LabelReq::NotExists(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                LabelReq::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                LabelReq::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                LabelReq::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once(" notin ") {
                LabelReq::NotIn(k.trim().into(), parse_set(v)?)
            } else if let Some((k, v)) = part.split_once(" in ") {
                LabelReq::In(k.trim().into(), parse_set(v)?)
            } else {
                LabelReq::Exists(part.trim().to_string())
            };
            let key = match &req {
                LabelReq::Eq(k, _)
                | LabelReq::NotEq(k, _)
                | LabelReq::In(k, _)
                | LabelReq::NotIn(k, _)
                | LabelReq::Exists(k)
                | LabelReq::NotExists(k) => k,
            };
            if !valid_label_key(key) {
                return Err(format!(
                    "unable to parse requirement: invalid label key {key:?}"
                ));
            }
            sel.labels.push(req);
        }
        for part in split_top_level(fields.unwrap_or_default()) {
            let (k, eq, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                ));
            };
            sel.fields.push((k.trim().into(), eq, v.trim().into()));
        }
        Ok(sel)
    }

    /// Field selectors supported for a resource (the apiserver rejects others with 400).
    pub fn check_fields(&self, plural: &str, group: &str) -> Result<(), String> {
        for (k, _, _) in &self.fields {
            let ok = matches!(k.as_str(), "metadata.name" | "metadata.namespace")
                || (group.is_empty() && plural == "secrets" && k == "type")
                || (plural == "events" && k.starts_with("involvedObject."))
                || (plural == "namespaces" && k == "status.phase");
            if !ok {
                return Err(format!("field label not supported: {k}"));
            }
        }
        Ok(())
    }

    /// True when nothing is selected on.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether `obj` matches.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.get("metadata").and_then(|m| m.get("labels"));
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|r| match r {
            LabelReq::Eq(k, v) => label(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => label(k) != Some(v.as_str()),
            LabelReq::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelReq::NotIn(k, vs) => label(k).is_none_or(|l| !vs.iter().any(|v| v == l)),
            LabelReq::Exists(k) => label(k).is_some(),
            LabelReq::NotExists(k) => label(k).is_none(),
        });
        labels_ok
            && self.fields.iter().all(|(k, eq, v)| {
                let mut node = Some(obj);
                for seg in k.split('.') {
                    node = node.and_then(|n| n.get(seg));
                }
                let actual = node.and_then(Value::as_str).unwrap_or_default();
                (actual == v) == *eq
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_operators() {
        let obj = json!({"metadata":{"name":"a","namespace":"n","labels":{"app":"web","tier":"fe"}},"type":"Opaque"});
        let m = |l: &str| {
            Selector::parse(Some(l), None)
                .expect("parses")
                .matches(&obj)
        };
        assert!(m("app=web"));
        assert!(m("app==web"));
        assert!(!m("app!=web"));
        assert!(m("app in (web, api)"));
        assert!(!m("app notin (web)"));
        assert!(m("tier"));
        assert!(m("!missing"));
        assert!(!m("!tier"));
        assert!(m("app=web,tier in (fe)"));
        let f = |s: &str| {
            Selector::parse(None, Some(s))
                .expect("parses")
                .matches(&obj)
        };
        assert!(f("metadata.name=a"));
        assert!(f("type=Opaque,metadata.namespace!=x"));
        assert!(!f("metadata.name!=a"));
        assert!(
            Selector::parse(None, Some("spec.x=1"))
                .expect("parses")
                .check_fields("secrets", "")
                .is_err()
        );
    }
}
