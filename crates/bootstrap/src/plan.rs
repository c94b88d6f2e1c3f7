//! The bootstrapper's decisions as plain data: what should exist ([`Item`]), what was seen
//! ([`State`]), and the steps between them ([`plan`], a pure function).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// The phases, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// CRDs, the cloud ClusterSecretStores, the bootstrap ExternalSecrets synced once.
    Cloud,
    /// Vault: KV v2, Kubernetes auth, policy and role, AppRole, database, PKI, the `vault` store.
    Vault,
    /// Cloud keys copied into Vault KV v2 with provenance.
    Migration,
    /// ExternalSecrets switched to the `vault` store.
    Cutover,
}

impl Phase {
    /// Name used in output and in the status record.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Cloud => "phase1",
            Phase::Vault => "phase2",
            Phase::Migration => "migration",
            Phase::Cutover => "cutover",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Kubernetes object the bootstrapper applies (server-side apply).
#[derive(Clone, Debug, PartialEq)]
pub struct KubeObject {
    /// `group/version` or `v1`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Namespace of a namespaced object.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// The whole manifest.
    pub body: Value,
    /// Other manifests that also count as done (a bootstrap ExternalSecret after cut-over).
    pub also: Vec<Value>,
}

impl KubeObject {
    /// The object's URL path.
    pub fn url(&self) -> String {
        let base = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        match &self.namespace {
            Some(ns) => format!("{base}/namespaces/{ns}/{}/{}", self.plural, self.name),
            None => format!("{base}/{}/{}", self.plural, self.name),
        }
    }
}

/// A field of a Vault write that holds a secret, filled in at run time (never in the plan).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretField {
    /// JSON field of the body.
    pub field: String,
    /// Environment variable it comes from.
    pub env: String,
}

/// What one item should be.
#[derive(Clone, Debug, PartialEq)]
pub enum Want {
    /// A Kubernetes object; it matches when every field of `body` has the same value live.
    Object(KubeObject),
    /// A Vault secrets engine (`sys/mounts/<path>`) or auth method (`sys/auth/<path>`).
    Mount {
        /// An auth method rather than a secrets engine.
        auth: bool,
        /// Mount path, without slashes.
        path: String,
        /// `kv`, `kubernetes`, `approle`, `database`, `pki`.
        kind: String,
        /// Mount options (`{"version": "2"}` for KV v2).
        options: Value,
    },
    /// Configuration written with a POST of `body` to `path`; it matches when a read of
    /// `path` shows every field of `compare`.
    Config {
        /// API path below `/v1/`.
        path: String,
        /// The request body (without `secret`).
        body: Value,
        /// What a read must show.
        compare: Value,
        /// A secret field added at run time.
        secret: Option<SecretField>,
    },
    /// A PKI mount's root CA, generated once (never replaced).
    PkiRoot {
        /// PKI mount path.
        mount: String,
        /// Common name.
        common_name: String,
        /// TTL in seconds.
        ttl: u64,
    },
    /// The target Secret of an ExternalSecret, written once by the engine and writer.
    Synced {
        /// Namespace.
        namespace: String,
        /// ExternalSecret name.
        name: String,
    },
    /// A cloud key (or a property of it) copied into Vault KV v2 (`secret/<to>`, property
    /// `value`) with provenance.
    Migrated(crate::config::Migration),
    /// An ExternalSecret switched to the `vault` store, proven byte-identical first.
    CutOver {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The checks of a phase passed for this desired state (recorded in the status ConfigMap).
    Verified {
        /// The phase.
        phase: Phase,
        /// Fingerprint of the phase's desired items.
        fingerprint: String,
    },
}

/// One thing the bootstrapper manages.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Unique id (`ClusterSecretStore/vault`, `vault:auth/kubernetes/config`).
    pub id: String,
    /// The phase it belongs to.
    pub phase: Phase,
    /// What it should be.
    pub want: Want,
}

/// What was observed for one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Not there.
    Absent,
    /// There and as wanted.
    Matches,
    /// There but different (the first differing field).
    Differs(String),
    /// Not observable yet (e.g. its CRD is missing, or Vault is not configured): to be done.
    Unknown(String),
}

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create what is absent.
    Create,
    /// Change what differs.
    Update,
    /// Run a one-time action (sync, checks).
    Run,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The item.
    pub item: Item,
    /// What to do.
    pub action: Action,
    /// Why.
    pub why: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match (&self.item.want, self.action) {
            (Want::Synced { .. }, _) => "sync",
            (Want::Verified { .. }, _) => "verify",
            (Want::Migrated(_), Action::Update) => "migrate again",
            (Want::Migrated(_), _) => "migrate",
            (Want::CutOver { .. }, _) => "cut over",
            (_, Action::Create) => "create",
            (_, Action::Update) => "update",
            (_, Action::Run) => "run",
        };
        write!(
            f,
            "{}: {verb} {} ({})",
            self.item.phase, self.item.id, self.why
        )
    }
}

/// The steps from `observed` to `desired`, in `desired`'s order. An item whose id is missing
/// from `observed` counts as absent. A phase's `Verified` item is planned whenever another item
/// of that phase is, so the checks run again after any change.
pub fn plan(desired: &[Item], observed: &BTreeMap<String, State>) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut changed_in: BTreeMap<Phase, usize> = BTreeMap::new();
    for item in desired {
        let state = observed.get(&item.id).unwrap_or(&State::Absent);
        let is_check = matches!(item.want, Want::Verified { .. });
        let changes = changed_in.get(&item.phase).copied().unwrap_or(0);
        let (action, why) = match (state, &item.want) {
            (State::Matches, _) if is_check && changes > 0 => (
                Action::Run,
                format!("{changes} step(s) of {} changed something", item.phase),
            ),
            (State::Matches, _) => continue,
            (State::Absent, Want::Synced { .. }) => {
                (Action::Run, "target Secret absent or not intact".into())
            }
            (State::Absent, Want::Verified { .. }) => (Action::Run, "not verified yet".into()),
            (State::Absent, _) => (Action::Create, "absent".into()),
            (State::Differs(what), Want::Verified { .. }) => (
                Action::Run,
                format!("verified for another configuration ({what})"),
            ),
            (State::Differs(why), Want::CutOver { .. }) => (Action::Update, why.clone()),
            (State::Differs(what), _) => (Action::Update, format!("{what} differs")),
            (State::Unknown(why), _) => (
                if is_check || matches!(item.want, Want::Synced { .. }) {
                    Action::Run
                } else {
                    Action::Create
                },
                why.clone(),
            ),
        };
        if !is_check {
            *changed_in.entry(item.phase).or_default() += 1;
        }
        steps.push(Step {
            item: item.clone(),
            action,
            why,
        });
    }
    steps
}

/// The first field of `want` whose value `live` lacks or differs in (`spec.provider.vault.path`),
/// or None when `live` has all of `want`. Objects compare member by member (the API server
/// adds defaults), arrays element by element and must be as long; numbers by value (`255.0` is
/// `255`); anything else must be equal.
pub fn first_difference(want: &Value, live: &Value) -> Option<String> {
    fn walk(want: &Value, live: &Value, path: &mut Vec<String>) -> Option<String> {
        match (want, live) {
            (Value::Object(w), Value::Object(l)) => {
                for (k, wv) in w {
                    path.push(k.clone());
                    let found = match l.get(k) {
                        Some(lv) => walk(wv, lv, path),
                        None => Some(path.join(".")),
                    };
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            (Value::Array(w), Value::Array(l)) if w.len() == l.len() => {
                for (i, (wv, lv)) in w.iter().zip(l).enumerate() {
                    path.push(i.to_string());
                    let found = walk(wv, lv, path);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            _ if want == live => None,
            // A real API server stores a CRD's `maximum: 255.0` as `255`: the same number.
            (Value::Number(w), Value::Number(l))
                if (w.is_f64() || l.is_f64()) && w.as_f64() == l.as_f64() =>
            {
                None
            }
            _ => Some(if path.is_empty() {
                ".".to_string()
            } else {
                path.join(".")
            }),
        }
    }
    walk(want, live, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(id: &str, phase: Phase) -> Item {
        Item {
            id: id.into(),
            phase,
            want: Want::Object(KubeObject {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                plural: "namespaces".into(),
                namespace: None,
                name: id.into(),
                body: json!({}),
                also: Vec::new(),
            }),
        }
    }

    fn synced(id: &str) -> Item {
        Item {
            id: id.into(),
            phase: Phase::Cloud,
            want: Want::Synced {
                namespace: "ns".into(),
                name: id.into(),
            },
        }
    }

    fn verified(phase: Phase) -> Item {
        Item {
            id: format!("verified/{phase}"),
            phase,
            want: Want::Verified {
                phase,
                fingerprint: "f".into(),
            },
        }
    }

    fn summary(steps: &[Step]) -> Vec<(String, Action)> {
        steps
            .iter()
            .map(|s| (s.item.id.clone(), s.action))
            .collect()
    }

    #[test]
    fn plans() {
        use Action::*;
        let desired = vec![
            object("a", Phase::Cloud),
            synced("s"),
            verified(Phase::Cloud),
            object("b", Phase::Vault),
            verified(Phase::Vault),
        ];
        let all = |state: State| -> BTreeMap<String, State> {
            desired
                .iter()
                .map(|i| (i.id.clone(), state.clone()))
                .collect()
        };
        let with = |mut m: BTreeMap<String, State>, id: &str, s: State| {
            m.insert(id.into(), s);
            m
        };
        type Case = (
            &'static str,
            BTreeMap<String, State>,
            Vec<(&'static str, Action)>,
        );
        let table: Vec<Case> = vec![
            (
                "empty cluster: everything",
                BTreeMap::new(),
                vec![
                    ("a", Create),
                    ("s", Run),
                    ("verified/phase1", Run),
                    ("b", Create),
                    ("verified/phase2", Run),
                ],
            ),
            ("all done: nothing", all(State::Matches), vec![]),
            (
                "a changed: a and phase 1's checks",
                with(all(State::Matches), "a", State::Differs("spec".into())),
                vec![("a", Update), ("verified/phase1", Run)],
            ),
            (
                "phase 2 object gone: only phase 2",
                with(all(State::Matches), "b", State::Absent),
                vec![("b", Create), ("verified/phase2", Run)],
            ),
            (
                "verified for another config: checks only",
                with(
                    all(State::Matches),
                    "verified/phase2",
                    State::Differs("fingerprint".into()),
                ),
                vec![("verified/phase2", Run)],
            ),
            (
                "target Secret not intact: sync and checks",
                with(all(State::Matches), "s", State::Absent),
                vec![("s", Run), ("verified/phase1", Run)],
            ),
            (
                "unknown (CRD missing): created",
                with(all(State::Matches), "b", State::Unknown("no CRD".into())),
                vec![("b", Create), ("verified/phase2", Run)],
            ),
        ];
        for (name, observed, want) in table {
            let got = plan(&desired, &observed);
            let want: Vec<(String, Action)> =
                want.into_iter().map(|(i, a)| (i.to_string(), a)).collect();
            assert_eq!(summary(&got), want, "{name}");
        }
    }

    #[test]
    fn steps_say_why() {
        let steps = plan(&[object("ns/x", Phase::Cloud)], &BTreeMap::new());
        assert_eq!(steps[0].to_string(), "phase1: create ns/x (absent)");
        let observed = BTreeMap::from([("ns/x".to_string(), State::Differs("spec.a".into()))]);
        let steps = plan(&[object("ns/x", Phase::Cloud)], &observed);
        assert_eq!(steps[0].to_string(), "phase1: update ns/x (spec.a differs)");
    }

    #[test]
    fn differences() {
        let table = [
            (json!({"a": 1}), json!({"a": 1, "b": 2}), None),
            (json!({"a": {"b": 1}}), json!({"a": {"b": 2}}), Some("a.b")),
            (json!({"a": {"b": 1}}), json!({"a": {}}), Some("a.b")),
            (json!({"a": [1, 2]}), json!({"a": [1]}), Some("a")),
            (json!({"a": [1]}), json!({"a": [1]}), None),
            (
                json!({"a": [{"k": 1}]}),
                json!({"a": [{"k": 1, "d": 2}]}),
                None,
            ),
            (
                json!({"a": [{"k": 1}]}),
                json!({"a": [{"k": 2}]}),
                Some("a.0.k"),
            ),
            (json!("x"), json!("y"), Some(".")),
            (json!({}), json!(null), Some(".")),
            (json!({"maximum": 255.0}), json!({"maximum": 255}), None),
            (json!({"maximum": 255}), json!({"maximum": 255.0}), None),
            (
                json!({"maximum": 255.5}),
                json!({"maximum": 255}),
                Some("maximum"),
            ),
            (
                json!({"n": u64::MAX}),
                json!({"n": u64::MAX - 1}),
                Some("n"),
            ),
        ];
        for (want, live, expected) in table {
            assert_eq!(
                first_difference(&want, &live).as_deref(),
                expected,
                "{want} vs {live}"
            );
        }
    }
}
