//! `secretsync diff`: which Secrets and keys a `sync` would create, change or remove. Values
//! appear only as short keyed hashes (HMAC-SHA256 under a key drawn for this run), so equal
//! values can be told apart from changed ones without revealing them.

use std::collections::BTreeSet;
use std::process::ExitCode;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use secretsync_engine::{DesiredSecret, SyncResult};
use secretsync_kube::drift::DriftKey;
use secretsync_kube::writer::{field_manager, is_controlled_by};
use secretsync_model::external_secret::CreationPolicy;

use crate::cli::Source;
use crate::exit::{Class, Failure};
use crate::progress::Progress;
use crate::run::{self, Report};
use crate::session::{ClusterNeed, Session, failures_of, finish};
use crate::target;

/// Keyed, short, one-way value hashes.
pub struct ValueHasher(DriftKey);

impl ValueHasher {
    /// A hasher with a fresh random key.
    pub fn new() -> Self {
        ValueHasher(DriftKey::generate())
    }

    /// `hmac:` and the first 12 characters of the keyed hash of `value`.
    pub fn hash(&self, value: &[u8]) -> String {
        let none = std::collections::BTreeMap::new();
        let full = self.0.fingerprint("", [("", value)], &none, &none);
        let digest = full.trim_start_matches("v1:");
        format!("hmac:{}", &digest[..digest.len().min(12)])
    }
}

impl Default for ValueHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// One key's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// The key would be added.
    Added {
        /// Key.
        key: String,
        /// Hash of the new value.
        new: String,
    },
    /// The key's value would change.
    Changed {
        /// Key.
        key: String,
        /// Hash of the live value.
        old: String,
        /// Hash of the new value.
        new: String,
    },
    /// The key would be removed (this ExternalSecret's field manager wrote it before).
    Removed {
        /// Key.
        key: String,
        /// Hash of the live value.
        old: String,
    },
}

/// What would happen to one Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// It would be created.
    Create,
    /// It would be changed.
    Update,
    /// It would be deleted (`deletionPolicy: Delete` and no data).
    Delete,
    /// Nothing would change.
    Unchanged,
    /// Nothing would be written, and why.
    Skip(String),
}

/// The diff of one Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretDiff {
    /// `namespace/name` of the Secret.
    pub secret: String,
    /// What would happen.
    pub change: Change,
    /// Key changes.
    pub keys: Vec<KeyChange>,
    /// Other changes (type, labels, annotations), by name only.
    pub notes: Vec<String>,
}

impl SecretDiff {
    /// Whether a sync would write or delete something.
    pub fn changes(&self) -> bool {
        matches!(
            self.change,
            Change::Create | Change::Update | Change::Delete
        )
    }

    /// The lines printed for it.
    pub fn lines(&self) -> Vec<String> {
        let head = match &self.change {
            Change::Create => format!("create Secret {}", self.secret),
            Change::Update => format!("update Secret {}", self.secret),
            Change::Delete => format!("delete Secret {}", self.secret),
            Change::Unchanged => format!("unchanged Secret {}", self.secret),
            Change::Skip(why) => format!("skip Secret {} ({why})", self.secret),
        };
        let mut out = vec![head];
        for k in &self.keys {
            out.push(match k {
                KeyChange::Added { key, new } => format!("  + {key}  {new}"),
                KeyChange::Changed { key, old, new } => format!("  ~ {key}  {old} -> {new}"),
                KeyChange::Removed { key, old } => format!("  - {key}  {old}"),
            });
        }
        out.extend(self.notes.iter().map(|n| format!("  {n}")));
        out
    }
}

/// Keys of the live Secret's `data` that `manager` applied (from `managedFields`).
pub fn managed_keys(live: &Secret, manager: &str) -> BTreeSet<String> {
    live.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|e| e.manager.as_deref() == Some(manager))
        .filter_map(|e| e.fields_v1.as_ref())
        .filter_map(|f| f.0.get("f:data").and_then(|d| d.as_object()))
        .flat_map(|d| {
            d.keys()
                .filter_map(|k| k.strip_prefix("f:").map(str::to_string))
        })
        .collect()
}

/// What writing `desired` (for ExternalSecret `es_name`) would do to `live`.
pub fn diff_write(
    desired: &DesiredSecret,
    live: Option<&Secret>,
    es_name: &str,
    hasher: &ValueHasher,
) -> SecretDiff {
    let secret = format!("{}/{}", desired.namespace, desired.name);
    let mut diff = SecretDiff {
        secret,
        change: Change::Unchanged,
        keys: Vec::new(),
        notes: Vec::new(),
    };
    let policy = desired.creation_policy;
    if policy == CreationPolicy::None {
        diff.change = Change::Skip("creationPolicy None writes nothing".into());
        return diff;
    }
    let Some(live) = live else {
        if policy == CreationPolicy::Merge {
            diff.change = Change::Skip("missing, and creationPolicy Merge never creates it".into());
            return diff;
        }
        diff.change = Change::Create;
        diff.keys = desired
            .data
            .iter()
            .map(|(k, v)| KeyChange::Added {
                key: k.clone(),
                new: hasher.hash(v.expose()),
            })
            .collect();
        return diff;
    };
    let live_data = live.data.clone().unwrap_or_default();
    for (key, value) in &desired.data {
        match live_data.get(key) {
            None => diff.keys.push(KeyChange::Added {
                key: key.clone(),
                new: hasher.hash(value.expose()),
            }),
            Some(old) if old.0 != value.expose() => diff.keys.push(KeyChange::Changed {
                key: key.clone(),
                old: hasher.hash(&old.0),
                new: hasher.hash(value.expose()),
            }),
            Some(_) => {}
        }
    }
    for key in managed_keys(live, &field_manager(es_name)) {
        if !desired.data.contains_key(&key)
            && let Some(old) = live_data.get(&key)
        {
            diff.keys.push(KeyChange::Removed {
                key,
                old: hasher.hash(&old.0),
            });
        }
    }
    let merge_mode = matches!(
        policy,
        CreationPolicy::Merge | CreationPolicy::CreateOrMerge
    );
    let live_type = live.type_.as_deref().unwrap_or("Opaque");
    if !merge_mode && live_type != desired.type_ {
        diff.notes.push(format!(
            "type {live_type} -> {} (the Secret is recreated)",
            desired.type_
        ));
    }
    let empty = std::collections::BTreeMap::new();
    for (what, wanted, have) in [
        (
            "label",
            &desired.labels,
            live.metadata.labels.as_ref().unwrap_or(&empty),
        ),
        (
            "annotation",
            &desired.annotations,
            live.metadata.annotations.as_ref().unwrap_or(&empty),
        ),
    ] {
        for (k, v) in wanted {
            if have.get(k) != Some(v) {
                diff.notes.push(format!("{what} {k} set"));
            }
        }
    }
    if live.immutable == Some(true) && !diff.keys.is_empty() {
        diff.notes.push("immutable: the sync would fail".into());
    }
    if !diff.keys.is_empty() || !diff.notes.is_empty() {
        diff.change = Change::Update;
    }
    diff
}

/// Runs `diff` against the cluster.
pub async fn run(source: &Source, exit_code: bool, quiet: bool) -> ExitCode {
    let session = match Session::open(source, ClusterNeed::Required).await {
        Ok(s) => s,
        Err(f) => return finish("diff", 0, &[f], None, quiet),
    };
    let Some(client) = session.client.clone() else {
        return finish("diff", 0, &session.failures, None, quiet);
    };
    let hasher = ValueHasher::new();
    let progress = Progress::new(session.jobs.len(), quiet);
    let reports = run::for_each(&session.jobs, session.concurrency, &progress, |job| {
        let (session, client, hasher) = (&session, &client, &hasher);
        async move {
            let outcome = session.engine.sync(&job.es, session.env.as_ref()).await;
            let mut report: Report<SecretDiff> = Report::status("compared");
            report.failures = failures_of(job, &outcome);
            let Ok(result) = outcome.result else {
                return report;
            };
            let (namespace, name) = match &result {
                SyncResult::Write(d) => (d.namespace.clone(), d.name.clone()),
                SyncResult::Delete { name, namespace } | SyncResult::Retain { name, namespace } => {
                    (namespace.clone(), name.clone())
                }
            };
            let live = match Api::<Secret>::namespaced(client.clone(), &namespace)
                .get_opt(&name)
                .await
            {
                Ok(l) => l,
                Err(e) => {
                    report.failures.push(Failure::new(
                        Class::Unavailable,
                        format!("{}: reading Secret {namespace}/{name}: {e}", job.label()),
                    ));
                    return report;
                }
            };
            let es_name = job.es.metadata.name.clone().unwrap_or_default();
            let diff = match &result {
                SyncResult::Write(desired) => diff_write(desired, live.as_ref(), &es_name, hasher),
                SyncResult::Delete { .. } | SyncResult::Retain { .. } => {
                    let owner = target::cluster_object(client, job).await.ok().flatten();
                    let deletes = matches!(result, SyncResult::Delete { .. })
                        && live
                            .as_ref()
                            .zip(owner.as_ref())
                            .is_some_and(|(l, o)| is_controlled_by(l, o));
                    SecretDiff {
                        secret: format!("{namespace}/{name}"),
                        change: if deletes {
                            Change::Delete
                        } else {
                            Change::Skip("the provider returned no data; the Secret is kept".into())
                        },
                        keys: Vec::new(),
                        notes: Vec::new(),
                    }
                }
            };
            report.status = if diff.changes() {
                "changes"
            } else {
                "no changes"
            }
            .into();
            report.value = Some(diff);
            report
        }
    })
    .await;
    session.engine.close().await;
    let mut failures = session.failures.clone();
    let mut changed = 0usize;
    let mut out = String::new();
    for r in reports {
        failures.extend(r.failures);
        if let Some(diff) = r.value {
            if diff.changes() {
                changed += 1;
            }
            if diff.changes() || !quiet {
                for line in diff.lines() {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
    }
    print!("{out}");
    if !quiet {
        eprintln!("secretsync diff: {changed} Secrets would change");
    }
    let extra = (exit_code && changed > 0).then_some(Class::Missing);
    finish("diff", session.jobs.len(), &failures, extra, quiet)
}

#[cfg(test)]
mod tests;
