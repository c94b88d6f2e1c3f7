//! `--namespace` and `--selector` (label selector, `kubectl` syntax) applied to ExternalSecrets
//! read from files; `--from-cluster` passes the same selector to the API server.

use std::collections::{BTreeMap, BTreeSet};

use secretsync_model::external_secret::ExternalSecret;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value` (also matches objects without the key).
    NotEquals(String, String),
    /// `key in (a,b)`.
    In(String, BTreeSet<String>),
    /// `key notin (a,b)` (also matches objects without the key).
    NotIn(String, BTreeSet<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, set) => labels.get(k).is_some_and(|v| set.contains(v)),
            Requirement::NotIn(k, set) => labels.get(k).is_none_or(|v| !set.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// Which ExternalSecrets a command works on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Every requirement must hold (the selector as written, for the API server).
    pub selector: Option<(String, Vec<Requirement>)>,
}

impl Selection {
    /// Parses `--namespace` and `--selector`.
    pub fn new(namespace: Option<String>, selector: Option<&str>) -> Result<Self, String> {
        let selector = match selector.map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Some((text.to_string(), parse_selector(text)?)),
            None => None,
        };
        Ok(Selection {
            namespace,
            selector,
        })
    }

    /// Whether `es` is selected.
    pub fn matches(&self, es: &ExternalSecret) -> bool {
        if let Some(ns) = &self.namespace
            && es.metadata.namespace.as_deref() != Some(ns.as_str())
        {
            return false;
        }
        let empty = BTreeMap::new();
        let labels = es.metadata.labels.as_ref().unwrap_or(&empty);
        self.selector
            .as_ref()
            .is_none_or(|(_, reqs)| reqs.iter().all(|r| r.matches(labels)))
    }
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn set_of(text: &str) -> Option<BTreeSet<String>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_string()).collect())
}

/// Parses a label selector (`a=b,c!=d,e in (f,g),h notin (i),j,!k`).
pub fn parse_selector(text: &str) -> Result<Vec<Requirement>, String> {
    let bad = |part: &str| {
        format!(
            "--selector: {part:?} is not a label requirement (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)"
        )
    };
    let mut out = Vec::new();
    for part in split_top_level(text) {
        let part = part.trim();
        let requirement = if let Some((k, v)) = part.split_once("!=") {
            Requirement::NotEquals(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement::Equals(k.trim().into(), v.trim().into())
        } else if let Some((k, set)) = part.split_once(" notin ") {
            Requirement::NotIn(k.trim().into(), set_of(set).ok_or_else(|| bad(part))?)
        } else if let Some((k, set)) = part.split_once(" in ") {
            Requirement::In(k.trim().into(), set_of(set).ok_or_else(|| bad(part))?)
        } else if let Some(k) = part.strip_prefix('!') {
            Requirement::DoesNotExist(k.trim().into())
        } else {
            Requirement::Exists(part.into())
        };
        let key = match &requirement {
            Requirement::Equals(k, _)
            | Requirement::NotEquals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k) => k,
        };
        if !valid_key(key) {
            return Err(bad(part));
        }
        out.push(requirement);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_like_kubectl() {
        let app = labels(&[("app", "web"), ("tier", "gold")]);
        let none = labels(&[]);
        let cases = [
            ("app=web", &app, true),
            ("app==web", &app, true),
            ("app=db", &app, false),
            ("app!=db", &app, true),
            ("app!=db", &none, true),
            ("app in (web, db)", &app, true),
            ("app in (db)", &app, false),
            ("app notin (db)", &none, true),
            ("app notin (web)", &app, false),
            ("tier", &app, true),
            ("tier", &none, false),
            ("!tier", &none, true),
            ("app=web,tier in (gold,silver),!missing", &app, true),
            ("app=web,tier=silver", &app, false),
        ];
        for (text, labels, expected) in cases {
            let reqs = parse_selector(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                reqs.iter().all(|r| r.matches(labels)),
                expected,
                "{text} on {labels:?}"
            );
        }
    }

    #[test]
    fn bad_selectors_are_refused_naming_the_part() {
        for text in ["app in web", "a b", "=x", "app notin"] {
            let err = parse_selector(text).expect_err(text);
            assert!(err.starts_with("--selector:"), "{err}");
        }
    }
}
