//! When a PushSecret whose source is a generator runs it again (ESO's `shouldRefresh` for
//! PushSecrets): on a change of its spec, labels or annotations, once its `refreshInterval`
//! has passed since `status.refreshTime`, and never again once pushed with an interval of zero.
//! Other reconciles (its own status writes, a restart) push nothing, so a generated value
//! stays in the provider until ESO would have replaced it.

use std::time::{Duration, SystemTime};

use secretsync_model::duration::parse_go_duration;
use secretsync_model::external_secret::RefreshPolicy;
use secretsync_model::push_secret::{DEFAULT_REFRESH_INTERVAL, PushSecret};

use crate::refresh::{RefreshInputs, resource_version};
use crate::sync_windows::SyncWindowPolicy;

/// The refresh inputs of `ps` at `now` (no lead, no sync windows: PushSecrets have neither).
pub fn push_refresh_inputs(ps: &PushSecret, now: SystemTime) -> RefreshInputs {
    let empty = Default::default();
    let meta = &ps.metadata;
    let status = ps.status.as_ref();
    let interval = ps
        .spec
        .refresh_interval
        .as_deref()
        .unwrap_or(DEFAULT_REFRESH_INTERVAL);
    RefreshInputs {
        policy: RefreshPolicy::Periodic,
        interval: parse_go_duration(interval).unwrap_or(Duration::ZERO),
        synced_resource_version: status
            .and_then(|s| s.synced_resource_version.clone())
            .filter(|v| !v.is_empty()),
        current_resource_version: resource_version(
            meta.generation.unwrap_or(0),
            meta.labels.as_ref().unwrap_or(&empty),
            meta.annotations.as_ref().unwrap_or(&empty),
        ),
        refresh_time: status.and_then(|s| s.refresh_time.as_ref().map(|t| SystemTime::from(t.0))),
        now,
        lead: Duration::ZERO,
        settle: Duration::ZERO,
        windows: SyncWindowPolicy::unconstrained(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh::{next_refresh_in, should_refresh};
    use secretsync_model::push_secret::PushSecretStatus;

    fn ps(interval: &str, generation: i64, synced: Option<(i64, u64)>) -> PushSecret {
        let mut ps: PushSecret = serde_json::from_value(serde_json::json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
            "metadata": {"name": "p", "namespace": "n", "generation": generation},
            "spec": {"refreshInterval": interval, "secretStoreRefs": [{"name": "s"}],
                     "selector": {"generatorRef": {"kind": "Password", "name": "pw"}}}
        }))
        .expect("PushSecret");
        if let Some((generation, at)) = synced {
            let empty = Default::default();
            let status: PushSecretStatus = serde_json::from_value(serde_json::json!({
                "syncedResourceVersion": resource_version(generation, &empty, &empty),
                "refreshTime": format!("1970-01-01T{:02}:{:02}:{:02}Z", at / 3600, at / 60 % 60, at % 60),
            }))
            .expect("status");
            ps.status = Some(status);
        }
        ps
    }

    #[test]
    fn generated_values_are_pushed_again_only_when_eso_would() {
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        // (case, PushSecret, now, refresh due, next refresh in)
        let cases: &[(&str, PushSecret, u64, bool, Option<u64>)] = &[
            ("never pushed", ps("1h", 1, None), 1000, true, Some(3600)),
            (
                "pushed, interval not over",
                ps("1h", 1, Some((1, 1000))),
                1010,
                false,
                Some(3590),
            ),
            (
                "interval over",
                ps("1h", 1, Some((1, 1000))),
                4601,
                true,
                Some(0),
            ),
            (
                "spec changed",
                ps("1h", 2, Some((1, 1000))),
                1010,
                true,
                Some(3590),
            ),
            (
                "interval zero, pushed",
                ps("0", 2, Some((1, 1000))),
                9999,
                false,
                None,
            ),
            (
                "interval zero, never pushed",
                ps("0", 1, None),
                1000,
                true,
                None,
            ),
        ];
        for (case, ps, now, due, next) in cases {
            let inputs = push_refresh_inputs(ps, at(*now));
            assert_eq!(should_refresh(&inputs), *due, "{case}");
            assert_eq!(
                next_refresh_in(&inputs),
                next.map(Duration::from_secs),
                "{case}"
            );
        }
    }
}
