//! Observation: the [`State`] of every desired item, read from the cluster and Vault. Reads
//! only: `plan` and `status` touch nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use secretsync_kube::drift::{DRIFT_KEY_FIELD, DriftKey};
use secretsync_kube::writer::plan::target_intact;
use secretsync_model::external_secret::ExternalSecret;
use serde_json::Value;

use crate::context::Bootstrapper;
use crate::plan::{Item, State, Want, first_difference};
use crate::vault_admin::VaultError;
use crate::{cluster, record};

/// A read failed (the cluster or Vault is unreachable or refused).
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// Kubernetes.
    #[error("reading {what}: {source}")]
    Kube {
        /// The object.
        what: String,
        /// The error.
        source: kube::Error,
    },
    /// Vault.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// The mounts Vault lists (`sys/mounts` and `sys/auth`), read once per observation.
#[derive(Default)]
struct Mounts {
    engines: Option<Value>,
    auth: Option<Value>,
}

/// The answer's `data`, or the answer itself (some endpoints answer at the top level).
pub fn data_of(v: &Value) -> &Value {
    match v.get("data") {
        Some(d) if d.is_object() => d,
        _ => v,
    }
}

/// The State of a mount: `listing` is `sys/mounts` or `sys/auth`.
pub fn mount_state(listing: &Value, path: &str, kind: &str, options: &Value) -> State {
    let listing = data_of(listing);
    let Some(m) = listing.get(format!("{path}/")) else {
        return State::Absent;
    };
    if m["type"] != kind {
        return State::Differs(format!(
            "type (is {}, want {kind})",
            m["type"].as_str().unwrap_or("?")
        ));
    }
    let live_options = if m["options"].is_null() {
        serde_json::json!({})
    } else {
        m["options"].clone()
    };
    match first_difference(options, &live_options) {
        Some(f) => State::Differs(format!("options.{f}")),
        None => State::Matches,
    }
}

impl Bootstrapper {
    /// Observes every item.
    pub async fn observe(&self, items: &[Item]) -> Result<BTreeMap<String, State>, ObserveError> {
        let mut mounts = Mounts::default();
        let record = record::read(&self.client, &self.config.operator.namespace)
            .await
            .map_err(|source| ObserveError::Kube {
                what: format!("ConfigMap {}", record::RECORD),
                source,
            })?;
        let mut out = BTreeMap::new();
        for item in items {
            let state = self.observe_one(item, &mut mounts, &record).await?;
            out.insert(item.id.clone(), state);
        }
        Ok(out)
    }

    async fn observe_one(
        &self,
        item: &Item,
        mounts: &mut Mounts,
        record: &BTreeMap<String, String>,
    ) -> Result<State, ObserveError> {
        let kube_err = |source| ObserveError::Kube {
            what: item.id.clone(),
            source,
        };
        match &item.want {
            Want::Object(obj) => {
                let live = cluster::get(&self.client, obj).await.map_err(kube_err)?;
                Ok(match live {
                    None => State::Absent,
                    Some(live) => {
                        let mut want = obj.body.clone();
                        if let Some(o) = want.as_object_mut() {
                            o.remove("apiVersion");
                            o.remove("kind");
                        }
                        let alternative = obj.also.iter().any(|a| {
                            let mut a = a.clone();
                            if let Some(o) = a.as_object_mut() {
                                o.remove("apiVersion");
                                o.remove("kind");
                            }
                            first_difference(&a, &live).is_none()
                        });
                        match first_difference(&want, &live) {
                            None => State::Matches,
                            Some(_) if alternative => State::Matches,
                            Some(f) => State::Differs(f),
                        }
                    }
                })
            }
            Want::Mount {
                auth,
                path,
                kind,
                options,
            } => {
                let Some(vault) = &self.vault else {
                    return Ok(no_token());
                };
                let slot = if *auth {
                    &mut mounts.auth
                } else {
                    &mut mounts.engines
                };
                if slot.is_none() {
                    let at = if *auth { "sys/auth" } else { "sys/mounts" };
                    *slot = Some(vault.read(at).await?.unwrap_or_default());
                }
                let listing = slot.as_ref().cloned().unwrap_or_default();
                Ok(mount_state(&listing, path, kind, options))
            }
            Want::Config { path, compare, .. } => {
                let Some(vault) = &self.vault else {
                    return Ok(no_token());
                };
                Ok(match vault.read(path).await {
                    Ok(None) => State::Absent,
                    Ok(Some(v)) => match first_difference(compare, data_of(&v)) {
                        None => State::Matches,
                        Some(f) => State::Differs(f),
                    },
                    // A mount that does not exist yet answers 400 "no handler" on some paths.
                    Err(e) if e.detail.starts_with("HTTP 400") => State::Absent,
                    Err(e) => return Err(e.into()),
                })
            }
            Want::PkiRoot { mount, .. } => {
                let Some(vault) = &self.vault else {
                    return Ok(no_token());
                };
                Ok(pki_root_state(
                    vault.read(&format!("{mount}/cert/ca")).await,
                ))
            }
            Want::Synced { namespace, name } => self.observe_synced(namespace, name).await,
            Want::Migrated(m) => Ok(self.observe_migrated(m).await),
            Want::CutOver { namespace, name } => self.observe_cutover(namespace, name).await,
            Want::Verified { phase, fingerprint } => Ok(match record.get(phase.name()) {
                None => State::Absent,
                Some(f) if f == fingerprint => State::Matches,
                Some(_) => State::Differs("configuration fingerprint".into()),
            }),
        }
    }

    /// Whether the ExternalSecret's target Secret is intact as the writer last wrote it (the
    /// operator's own test, with the drift key read but never created here).
    pub(crate) async fn observe_synced(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<State, ObserveError> {
        let what = |source| ObserveError::Kube {
            what: format!("ExternalSecret {namespace}/{name}"),
            source,
        };
        let es_api: Api<ExternalSecret> = Api::namespaced(self.client.clone(), namespace);
        let es = match es_api.get_opt(name).await {
            Ok(Some(es)) => es,
            Ok(None) => return Ok(State::Absent),
            // no CRD yet
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(State::Absent),
            Err(e) => return Err(what(e)),
        };
        let keys: Api<Secret> =
            Api::namespaced(self.client.clone(), &self.config.operator.namespace);
        let key = keys
            .get_opt(&self.drift_key_secret())
            .await
            .map_err(what)?
            .and_then(|s| s.data)
            .and_then(|mut d| d.remove(DRIFT_KEY_FIELD))
            .filter(|b| b.0.len() >= 32)
            .map(|b| DriftKey::from_bytes(b.0));
        let Some(key) = key else {
            return Ok(State::Absent);
        };
        let target: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let live = target.get_opt(&es.target_name()).await.map_err(what)?;
        Ok(if target_intact(&es, live.as_ref(), &key) {
            State::Matches
        } else {
            State::Absent
        })
    }
}

fn no_token() -> State {
    State::Unknown("no Vault setup token given: not observed".into())
}

/// A PKI mount has a root when `cert/ca` returns a certificate.
fn pki_root_state(read: Result<Option<Value>, VaultError>) -> State {
    match read {
        Ok(Some(v))
            if data_of(&v)["certificate"]
                .as_str()
                .is_some_and(|c| !c.is_empty()) =>
        {
            State::Matches
        }
        _ => State::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mount_states() {
        let listing = json!({"data": {
            "secret/": {"type": "kv", "options": {"version": "2"}},
            "old/": {"type": "kv", "options": {"version": "1"}},
            "pki/": {"type": "pki", "options": null},
        }});
        let v2 = json!({"version": "2"});
        let table = [
            ("secret", "kv", &v2, State::Matches),
            ("old", "kv", &v2, State::Differs("options.version".into())),
            (
                "pki",
                "kv",
                &v2,
                State::Differs("type (is pki, want kv)".into()),
            ),
            ("pki", "pki", &json!({}), State::Matches),
            ("nothing", "kv", &v2, State::Absent),
        ];
        for (path, kind, options, want) in table {
            assert_eq!(mount_state(&listing, path, kind, options), want, "{path}");
        }
    }
}
