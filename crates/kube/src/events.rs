//! Events (events.k8s.io/v1) on the objects the controllers reconcile, one event per distinct
//! message.
//!
//! kube-runtime's `Recorder` keys an event series on (type, reason, action, regarding) without
//! the note: a second `UpdateFailed` with a new message (a conflict after a store that was not
//! ready yet) only bumped the first event's `series.count`, and the new message never reached
//! `kubectl describe`. ESO records through client-go's `record.EventRecorder`, whose correlator
//! keeps events with different messages apart; so does this recorder: the note is part of the
//! key, a repeat of the same note within [`SERIES_TTL`] patches the event's `series`, and the
//! cache of recent events is bounded ([`CAPACITY`], least recently used first) and holds a
//! 128-bit keyed digest of each series' key, not its strings (about 1 KiB less per entry).

use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::EventType;
use secretsync_engine::lru::Lru;

/// How long a published event stays the one a repeat is counted on (client-go's and
/// kube-runtime's series window).
pub const SERIES_TTL: SignedDuration = SignedDuration::from_mins(6);

/// Recent events remembered for series counting.
pub const CAPACITY: usize = 4096;

/// What makes two events the same series.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SeriesKey {
    regarding: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    warning: bool,
    reason: String,
    action: String,
    note: String,
}

/// A series' key as two 64-bit SipHash digests under keys drawn at start: a tenant cannot
/// craft two series that collide, and a chance collision among [`CAPACITY`] entries has odds
/// of about 2^-105.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct SeriesId(u64, u64);

/// Digests series keys (random keys per recorder).
struct SeriesHasher([RandomState; 2]);

impl SeriesHasher {
    fn new() -> Self {
        SeriesHasher([RandomState::new(), RandomState::new()])
    }

    fn id(&self, key: &SeriesKey) -> SeriesId {
        let [first, second] = &self.0;
        SeriesId(first.hash_one(key), second.hash_one(key))
    }
}

/// The last publication of a series.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Published {
    /// The Event object's name.
    pub name: String,
    /// How often it was observed.
    pub count: i32,
    /// When it was last observed.
    pub last: Timestamp,
}

/// What publishing an event does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Publication {
    /// Create a new Event object.
    Create,
    /// Patch the series of the existing Event `name` to `count`.
    Repeat {
        /// The Event object's name.
        name: String,
        /// The new series count.
        count: i32,
    },
}

/// Create, or count a repeat of the event last published as `previous`.
pub(crate) fn publication(previous: Option<&Published>, now: Timestamp) -> Publication {
    match previous {
        Some(p) if p.last + SERIES_TTL > now => Publication::Repeat {
            name: p.name.clone(),
            count: p.count.saturating_add(1),
        },
        _ => Publication::Create,
    }
}

/// Which routine events are published: `Created` and `Updated` (Normal) events on
/// ExternalSecrets report a sync that went as expected, which the `Ready` condition reports
/// too. When many syncs happen at once (a first sync of thousands of ExternalSecrets, a
/// migration from ESO), one such event each is a third of the operator's writes and of the
/// API server's work, for information nobody reads; so they are published from a token bucket
/// (rate and burst from [`crate::Config`]) and skipped beyond it. Warnings and every other
/// event are always published. client-go's recorder, which ESO uses, also loses events under
/// load, but by chance: its queue drops whatever arrives when it is full.
///
/// One namespace takes at most [`NAMESPACE_SHARE`] of the budget (its own bucket, at that share
/// of the rate and burst), so a tenant whose ExternalSecrets sync all the time cannot spend
/// the other namespaces' routine events.
pub struct RoutineEvents {
    bucket: secretsync_engine::TokenBucket,
    per_namespace: Mutex<Lru<String, secretsync_engine::TokenBucket>>,
    namespace_rate: (f64, u32),
}

impl std::fmt::Debug for RoutineEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutineEvents")
            .field("bucket", &self.bucket)
            .field("namespace_rate", &self.namespace_rate)
            .finish_non_exhaustive()
    }
}

/// The fraction of the routine-event budget one namespace may take.
pub const NAMESPACE_SHARE: f64 = 0.25;

/// How many namespaces' buckets are kept; a namespace not seen for longest is forgotten (and
/// starts again with a full bucket of its share).
const NAMESPACES_TRACKED: usize = 1_024;

impl RoutineEvents {
    /// `per_second` routine events sustained, `burst` at once.
    pub fn new(per_second: f64, burst: u32) -> Self {
        // (truncation: a share of a u32 burst, at least 1)
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let namespace_burst = ((f64::from(burst) * NAMESPACE_SHARE) as u32).max(1);
        RoutineEvents {
            bucket: secretsync_engine::TokenBucket::new(per_second, burst),
            per_namespace: Mutex::new(Lru::new(NAMESPACES_TRACKED)),
            namespace_rate: (per_second * NAMESPACE_SHARE, namespace_burst),
        }
    }

    /// Whether an event of this type and reason is routine (subject to the budget).
    pub fn is_routine(warning: bool, reason: &str) -> bool {
        use secretsync_model::external_secret::reasons;
        !warning && (reason == reasons::CREATED || reason == reasons::UPDATED)
    }

    /// Whether to publish an event of this type and reason about an object in `namespace` now
    /// (takes from that namespace's share and from the budget when it is routine).
    pub fn admit(&self, warning: bool, reason: &str, namespace: &str) -> bool {
        if !Self::is_routine(warning, reason) {
            return true;
        }
        let within_share = {
            let mut buckets = self
                .per_namespace
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = namespace.to_string();
            if buckets.get(&key).is_none() {
                let (rate, burst) = self.namespace_rate;
                buckets.insert(
                    key.clone(),
                    secretsync_engine::TokenBucket::new(rate, burst),
                );
            }
            buckets.get(&key).is_some_and(|b| b.try_take().is_ok())
        };
        within_share && self.bucket.try_take().is_ok()
    }
}

/// Publishes events as `reporting_controller`; failures are returned to the caller.
pub struct EventRecorder {
    client: kube::Client,
    reporting_controller: String,
    series: SeriesHasher,
    recent: Mutex<Lru<SeriesId, Published>>,
}

impl EventRecorder {
    /// A recorder reporting as `reporting_controller` (also its reporting instance).
    pub fn new(client: kube::Client, reporting_controller: &str) -> Self {
        EventRecorder {
            client,
            reporting_controller: reporting_controller.to_string(),
            series: SeriesHasher::new(),
            recent: Mutex::new(Lru::new(CAPACITY)),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Lru<SeriesId, Published>> {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publishes an event about `regarding` in its namespace (`default` for cluster objects).
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let key = self.series.id(&SeriesKey {
            regarding: (
                regarding.api_version.clone(),
                regarding.kind.clone(),
                regarding.namespace.clone(),
                regarding.uid.clone().or_else(|| regarding.name.clone()),
            ),
            warning: type_ == EventType::Warning,
            reason: reason.to_string(),
            action: action.to_string(),
            note: note.to_string(),
        });
        let now = Timestamp::now();
        let previous = self.recent().get(&key).cloned();
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let published = match publication(previous.as_ref(), now) {
            Publication::Repeat { name, count } => {
                let patch = serde_json::json!({
                    "series": EventSeries { count, last_observed_time: MicroTime(now) }
                });
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    Ok(_) => Some(Published {
                        name,
                        count,
                        last: now,
                    }),
                    // Gone (the API server's event TTL): start a new one.
                    Err(kube::Error::Api(e)) if e.code == 404 => None,
                    Err(e) => return Err(e),
                }
            }
            Publication::Create => None,
        };
        let published = match published {
            Some(p) => p,
            None => {
                let event = self.event(regarding, type_, reason, action, note, now);
                let name = event.metadata.name.clone().unwrap_or_default();
                api.create(&PostParams::default(), &event).await?;
                Published {
                    name,
                    count: 1,
                    last: now,
                }
            }
        };
        self.recent().insert(key, published);
        Ok(())
    }

    fn event(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
        now: Timestamp,
    ) -> K8sEvent {
        let object = regarding
            .name
            .as_deref()
            .unwrap_or(&self.reporting_controller);
        K8sEvent {
            metadata: ObjectMeta {
                name: Some(format!("{object}.{:x}", now.as_nanosecond())),
                namespace: regarding.namespace.clone(),
                ..Default::default()
            },
            action: Some(action.to_string()),
            reason: Some(reason.to_string()),
            note: Some(note.to_string()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.reporting_controller.clone()),
            reporting_instance: Some(self.reporting_controller.clone()),
            type_: Some(
                match type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_string(),
            ),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_expected_sync_outcomes_are_routine() {
        // (warning, reason) → routine
        let cases = [
            (false, "Created", true),
            (false, "Updated", true),
            (true, "Created", false),
            (true, "UpdateFailed", false),
            (false, "Deleted", false),
            (false, "MissingProviderSecret", false),
            (false, "RolloutRestarted", false),
            (true, "ServedFromFallback", false),
        ];
        for (warning, reason, routine) in cases {
            assert_eq!(
                RoutineEvents::is_routine(warning, reason),
                routine,
                "{warning} {reason}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn routine_events_beyond_the_budget_are_skipped_and_others_never() {
        let events = RoutineEvents::new(8.0, 12);
        let admitted = |n, ns| {
            (0..n)
                .filter(|_| events.admit(false, "Created", ns))
                .count()
        };
        assert_eq!(admitted(10, "a"), 3, "a namespace's share of the burst");
        assert!(
            events.admit(true, "UpdateFailed", "a"),
            "a warning is never skipped"
        );
        assert!(events.admit(false, "Deleted", "a"), "nor a deletion");
        assert_eq!(admitted(10, "b"), 3, "another namespace has its own share");
        assert_eq!(admitted(10, "c"), 3);
        assert_eq!(admitted(10, "d"), 3, "the burst is spent: 4 x 3 = 12");
        assert_eq!(admitted(10, "e"), 0, "beyond the whole budget");
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        // 8 more for all, 2 more for each namespace (e's refused attempts spent its own share).
        for ns in ["a", "e", "b", "c"] {
            assert_eq!(admitted(10, ns), 2, "then a share of the rate: {ns}");
        }
        assert_eq!(admitted(10, "d"), 0, "and no more than the rate");
    }

    #[tokio::test(start_paused = true)]
    async fn a_namespace_that_syncs_all_the_time_leaves_the_others_their_events() {
        // The defaults: 10/s, burst 100.
        let events = RoutineEvents::new(10.0, 100);
        let (mut busy, mut quiet) = (0, 0);
        for _ in 0..60 {
            // The busy namespace asks for 100 routine events a second, the quiet one for 2.
            busy += (0..100)
                .filter(|_| events.admit(false, "Updated", "busy"))
                .count();
            quiet += (0..2)
                .filter(|_| events.admit(false, "Updated", "quiet"))
                .count();
            tokio::time::advance(std::time::Duration::from_secs(1)).await;
        }
        assert_eq!(
            quiet, 120,
            "every event of the quiet namespace was published"
        );
        // Its share: a burst of 25, then 2.5 a second for 59 s.
        assert_eq!(busy, 25 + 147, "the busy one got its share");
    }

    #[test]
    fn a_series_id_tells_every_field_apart() {
        let key = |namespace: &str, note: &str, warning| SeriesKey {
            regarding: (
                Some("external-secrets.io/v1".into()),
                Some("ExternalSecret".into()),
                Some(namespace.into()),
                Some("uid-1".into()),
            ),
            warning,
            reason: "Updated".into(),
            action: "Reconcile".into(),
            note: note.into(),
        };
        let hasher = SeriesHasher::new();
        let base = hasher.id(&key("a", "synced", false));
        assert_eq!(base, hasher.id(&key("a", "synced", false)));
        for other in [
            key("b", "synced", false),
            key("a", "synced.", false),
            key("a", "synced", true),
        ] {
            assert_ne!(base, hasher.id(&other), "{other:?}");
        }
        assert_ne!(
            base,
            SeriesHasher::new().id(&key("a", "synced", false)),
            "each recorder draws its own keys"
        );
    }

    #[test]
    fn repeats_within_the_window_extend_the_series() {
        let t0 = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1);
        let seen = |count, last| Published {
            name: "web.1".into(),
            count,
            last,
        };
        let cases = [
            (None, t0, Publication::Create),
            (
                Some(seen(1, t0)),
                t0 + SignedDuration::from_secs(1),
                Publication::Repeat {
                    name: "web.1".into(),
                    count: 2,
                },
            ),
            (
                Some(seen(7, t0)),
                t0 + SERIES_TTL - SignedDuration::from_secs(1),
                Publication::Repeat {
                    name: "web.1".into(),
                    count: 8,
                },
            ),
            (Some(seen(7, t0)), t0 + SERIES_TTL, Publication::Create),
            (
                Some(seen(i32::MAX, t0)),
                t0,
                Publication::Repeat {
                    name: "web.1".into(),
                    count: i32::MAX,
                },
            ),
        ];
        for (previous, now, expected) in cases {
            assert_eq!(
                publication(previous.as_ref(), now),
                expected,
                "{previous:?}"
            );
        }
    }
}
