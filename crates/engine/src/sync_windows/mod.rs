//! `spec.syncWindows`: when a **periodic** refresh may run (ESO PR #6452), as pure functions
//! of the spec and an injected time. No I/O, no clock.
//!
//! ESO's semantics:
//! - Windows gate only the periodic path of `refreshPolicy: Periodic` (or unset). The first
//!   sync, a changed spec/labels/annotations (including `external-secrets.io/force-sync`), a
//!   missing or invalid target Secret, `CreatedOnce` and `OnChange` are never gated.
//! - Each window opens at every firing of its `schedule` (UTC) and stays open for `duration`,
//!   both ends included: a firing at `f` opens `[f, f + duration]`.
//! - `kind: allow`: refreshes only while at least one window is open. `kind: deny`: no refresh
//!   while any window is open. Overlapping windows simply union.
//! - No `syncWindows`, or an empty `windows` list, never blocks.
//! - At run time a window whose schedule does not parse is ignored (ESO: "a typo does not
//!   permanently block syncs"): `allow` with only broken windows never opens, `deny` with only
//!   broken windows never closes. Admission ([`validate_sync_windows`]) rejects such specs.

mod cron;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secretsync_model::ModelError;
use secretsync_model::duration::parse_go_duration;
use secretsync_model::external_secret::{ExternalSecretSpec, SyncWindowKind, SyncWindows};

pub use cron::{CronError, CronSchedule};

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// How many consecutive deny windows [`SyncWindowPolicy::next_allowed`] follows before it
/// concludes the windows never all close.
const MAX_CHAINED_WINDOWS: usize = 10_000;

/// One parsed window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedWindow {
    /// When the window opens.
    pub schedule: CronSchedule,
    /// How long it stays open.
    pub duration: Duration,
}

/// Parsed `spec.syncWindows`, ready to answer "may a periodic refresh run at `t`?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncWindowPolicy {
    kind: SyncWindowKind,
    windows: Vec<ParsedWindow>,
    /// No windows were configured at all: nothing is gated.
    unconstrained: bool,
}

impl SyncWindowPolicy {
    /// A policy that never blocks (no `syncWindows`).
    pub fn unconstrained() -> Self {
        SyncWindowPolicy {
            kind: SyncWindowKind::Allow,
            windows: Vec::new(),
            unconstrained: true,
        }
    }

    /// Parses every window; fails with one error per bad field
    /// (`spec.syncWindows.windows[i].schedule` / `.duration`).
    pub fn parse(spec: &SyncWindows) -> Result<Self, Vec<ModelError>> {
        let mut errors = Vec::new();
        let mut windows = Vec::with_capacity(spec.windows.len());
        for (i, w) in spec.windows.iter().enumerate() {
            match parse_window(i, w.schedule.as_str(), w.duration.as_str()) {
                Ok(parsed) => windows.push(parsed),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(SyncWindowPolicy {
                kind: spec.kind,
                unconstrained: windows.is_empty(),
                windows,
            })
        } else {
            Err(errors)
        }
    }

    /// ESO's run-time reading: windows that do not parse are skipped.
    pub fn parse_lenient(spec: &SyncWindows) -> Self {
        let windows = spec
            .windows
            .iter()
            .enumerate()
            .filter_map(|(i, w)| parse_window(i, &w.schedule, &w.duration).ok())
            .collect();
        SyncWindowPolicy {
            kind: spec.kind,
            windows,
            unconstrained: spec.windows.is_empty(),
        }
    }

    /// The run-time policy of an ExternalSecret spec (lenient, like ESO's controller).
    pub fn of_spec(spec: &ExternalSecretSpec) -> Self {
        spec.sync_windows
            .as_ref()
            .map_or_else(Self::unconstrained, Self::parse_lenient)
    }

    /// Whether the policy restricts anything at all.
    pub fn is_unconstrained(&self) -> bool {
        self.unconstrained
    }

    /// Whether a periodic refresh may run at `t`.
    pub fn allows(&self, t: SystemTime) -> bool {
        if self.unconstrained {
            return true;
        }
        let open = self.open_until(nanos_of(t)).is_some();
        match self.kind {
            SyncWindowKind::Allow => open,
            SyncWindowKind::Deny => !open,
        }
    }

    /// The first instant at or after `t` at which a periodic refresh may run; `None` when that
    /// never happens (an allow window that never fires, deny windows that never all close).
    pub fn next_allowed(&self, t: SystemTime) -> Option<SystemTime> {
        if self.allows(t) {
            return Some(t);
        }
        let now = nanos_of(t);
        match self.kind {
            SyncWindowKind::Allow => {
                // Closed now: the next window to open.
                let from = ceil_secs(now);
                self.windows
                    .iter()
                    .filter_map(|w| w.schedule.next_at_or_after(from))
                    .min()
                    .map(|s| time_of(i128::from(s) * NANOS_PER_SEC))
            }
            SyncWindowKind::Deny => {
                // Follow overlapping and back-to-back deny windows until none is open.
                let mut at = now;
                for _ in 0..MAX_CHAINED_WINDOWS {
                    match self.open_until(at) {
                        None => return Some(time_of(at)),
                        Some(end) => at = end + 1,
                    }
                }
                None
            }
        }
    }

    /// When any window is open at `t` (nanoseconds since the epoch): the latest instant at
    /// which one of the open windows closes.
    fn open_until(&self, t: i128) -> Option<i128> {
        let t_secs = floor_secs(t);
        self.windows
            .iter()
            .filter_map(|w| {
                let opened = i128::from(w.schedule.latest_at_or_before(t_secs)?) * NANOS_PER_SEC;
                let closes = opened + w.duration.as_nanos() as i128;
                (t <= closes).then_some(closes)
            })
            .max()
    }
}

fn parse_window(i: usize, schedule: &str, duration: &str) -> Result<ParsedWindow, Vec<ModelError>> {
    let schedule = CronSchedule::parse(schedule).map_err(|e| {
        ModelError::field(
            format!("spec.syncWindows.windows[{i}].schedule"),
            format!(
                "a 5-field cron expression (UTC) or @yearly/@monthly/@weekly/@daily/@hourly/@every <duration> ({e})"
            ),
        )
    });
    let duration = parse_go_duration(duration)
        .map_err(|e| ModelError::field(format!("spec.syncWindows.windows[{i}].duration"), e));
    match (schedule, duration) {
        (Ok(schedule), Ok(duration)) => Ok(ParsedWindow { schedule, duration }),
        (s, d) => Err(s.err().into_iter().chain(d.err()).collect()),
    }
}

/// Admission check for `spec.syncWindows`: every schedule and duration must parse and the
/// list must not be empty (ESO's CRD: `minItems: 1`).
pub fn validate_sync_windows(spec: &ExternalSecretSpec) -> Vec<ModelError> {
    let Some(windows) = &spec.sync_windows else {
        return Vec::new();
    };
    let mut errors = match SyncWindowPolicy::parse(windows) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    if windows.windows.is_empty() {
        errors.push(ModelError::field(
            "spec.syncWindows.windows",
            "at least one window (schedule and duration)",
        ));
    }
    errors
}

/// Whether ESO's periodic refresh of `spec` may run at `t` (lenient run-time reading).
pub fn periodic_refresh_allowed(spec: &ExternalSecretSpec, t: SystemTime) -> bool {
    SyncWindowPolicy::of_spec(spec).allows(t)
}

/// The first instant at or after `t` at which `spec`'s periodic refresh may run.
pub fn next_periodic_refresh_allowed(
    spec: &ExternalSecretSpec,
    t: SystemTime,
) -> Option<SystemTime> {
    SyncWindowPolicy::of_spec(spec).next_allowed(t)
}

fn nanos_of(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

fn time_of(nanos: i128) -> SystemTime {
    let magnitude = Duration::new(
        (nanos.unsigned_abs() / NANOS_PER_SEC as u128) as u64,
        (nanos.unsigned_abs() % NANOS_PER_SEC as u128) as u32,
    );
    if nanos >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

fn floor_secs(nanos: i128) -> i64 {
    nanos.div_euclid(NANOS_PER_SEC) as i64
}

fn ceil_secs(nanos: i128) -> i64 {
    let s = nanos.div_euclid(NANOS_PER_SEC);
    (if nanos.rem_euclid(NANOS_PER_SEC) == 0 {
        s
    } else {
        s + 1
    }) as i64
}

#[cfg(test)]
mod tests;
