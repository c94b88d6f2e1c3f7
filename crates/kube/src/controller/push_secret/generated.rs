//! Keeping a generated PushSecret source stable: a generator runs again only when ESO's
//! `shouldRefresh` says so ([`push_refresh_inputs`]). The inputs come from the PushSecret's
//! status, and also from this process's own record of its last successful push, because the
//! reconcile that follows our own finalizer or status write may still see the object from
//! before the status write (the watch cache lags): without the record it would generate and
//! push a second value right after the first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use secretsync_engine::push::refresh::push_refresh_inputs;
use secretsync_engine::refresh::{RefreshInputs, next_refresh_in, should_refresh};
use secretsync_model::push_secret::{PushSecret, reasons};

/// `(namespace, name)` of a PushSecret.
type Key = (String, String);

/// The last successful push of each generated PushSecret by this process:
/// `(syncedResourceVersion, refreshTime)` as written to its status.
#[derive(Default)]
pub struct GeneratedPushes {
    last: Mutex<HashMap<Key, (String, SystemTime)>>,
}

impl GeneratedPushes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (String, SystemTime)>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a successful push of generated values.
    pub fn record(&self, key: Key, version: String, at: SystemTime) {
        self.lock().insert(key, (version, at));
    }

    /// Forgets a PushSecret (deleted).
    pub fn forget(&self, key: &Key) {
        self.lock().remove(key);
    }

    /// The record of `key`, if any.
    fn get(&self, key: &Key) -> Option<(String, SystemTime)> {
        self.lock().get(key).cloned()
    }

    /// `None` when the generator must run now; else when to look again (`None` inside: only
    /// on a change).
    pub fn wait(
        &self,
        ps: &PushSecret,
        key: &Key,
        now: SystemTime,
    ) -> Option<Option<std::time::Duration>> {
        let inputs = with_last_push(
            push_refresh_inputs(ps, now),
            last_push_succeeded(ps),
            self.get(key),
        )?;
        (!should_refresh(&inputs)).then(|| next_refresh_in(&inputs))
    }
}

/// Whether the `Ready` condition says the last push went through.
pub fn last_push_succeeded(ps: &PushSecret) -> bool {
    ps.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == reasons::READY && c.reason.as_deref() == Some(reasons::SYNCED))
    })
}

/// The inputs to decide on: the status's when the last push it reports succeeded, replaced by
/// this process's own record when that is newer; `None` (generate now) when neither shows a
/// successful push (never pushed, or the last push failed).
pub fn with_last_push(
    status: RefreshInputs,
    status_succeeded: bool,
    own: Option<(String, SystemTime)>,
) -> Option<RefreshInputs> {
    let status_time = status.refresh_time.filter(|_| status_succeeded);
    match own {
        Some((version, at)) if status_time.is_none_or(|t| at > t) => Some(RefreshInputs {
            synced_resource_version: Some(version),
            refresh_time: Some(at),
            ..status
        }),
        _ if status_succeeded => Some(status),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use secretsync_engine::sync_windows::SyncWindowPolicy;
    use secretsync_model::external_secret::RefreshPolicy;

    fn inputs(version: Option<&str>, refreshed: Option<u64>) -> RefreshInputs {
        RefreshInputs {
            policy: RefreshPolicy::Periodic,
            interval: Duration::from_secs(3600),
            synced_resource_version: version.map(str::to_string),
            current_resource_version: "2-x".into(),
            refresh_time: refreshed.map(at),
            now: at(1000),
            lead: Duration::ZERO,
            settle: Duration::ZERO,
            windows: SyncWindowPolicy::unconstrained(),
        }
    }

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    /// (case, status inputs, status says Synced, own record, generate now?)
    type Case = (
        &'static str,
        RefreshInputs,
        bool,
        Option<(&'static str, u64)>,
        bool,
    );

    #[test]
    fn own_record_covers_a_lagging_status() {
        let cases: &[Case] = &[
            ("never pushed", inputs(None, None), false, None, true),
            (
                "status lags our push",
                inputs(None, None),
                false,
                Some(("2-x", 990)),
                false,
            ),
            (
                "status current",
                inputs(Some("2-x"), Some(990)),
                true,
                None,
                false,
            ),
            (
                "last push failed",
                inputs(Some("2-x"), Some(990)),
                false,
                None,
                true,
            ),
            (
                "spec changed since",
                inputs(Some("1-x"), Some(990)),
                true,
                None,
                true,
            ),
            (
                "own record newer than a stale status",
                inputs(Some("1-x"), Some(500)),
                true,
                Some(("2-x", 990)),
                false,
            ),
            (
                "older own record ignored",
                inputs(Some("1-x"), Some(990)),
                true,
                Some(("2-x", 500)),
                true,
            ),
        ];
        for (case, status, ok, own, generate) in cases {
            let own = own.map(|(v, t)| (v.to_string(), at(t)));
            let decided = with_last_push(status.clone(), *ok, own);
            let now = decided.as_ref().is_none_or(should_refresh);
            assert_eq!(now, *generate, "{case}");
        }
    }
}
