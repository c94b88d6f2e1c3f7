//! Events on ExternalSecrets (events.k8s.io/v1, reporter `external-secrets`), one request each:
//! the first occurrence of an (object, type, reason, note) creates an Event, a repeat within
//! [`SERIES_WINDOW`] patches that Event's series count (as client-go's and kube-runtime's
//! recorders do). What is remembered about recent events is small and bounded (a hash, the
//! Event's name, a count: at most [`RECENT_CAPACITY`] of them), unlike kube-runtime's recorder,
//! which keeps every whole Event for six minutes and scans them all on each publish.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// Repeats within this window are counted on the first Event (client-go: 6 min).
pub const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// At most this many recent events are remembered for series.
pub const RECENT_CAPACITY: usize = 4096;

/// Normal or Warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Nothing to worry about.
    Normal,
    /// Something is not working.
    Warning,
}

struct Seen {
    name: String,
    count: i32,
    at: Instant,
}

#[derive(Default)]
struct Recent {
    by_key: HashMap<u64, Seen>,
    order: VecDeque<(u64, Instant)>,
}

impl Recent {
    fn forget_old(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front().copied() {
            if self.order.len() <= RECENT_CAPACITY && now.duration_since(at) < SERIES_WINDOW {
                break;
            }
            self.order.pop_front();
            if self.by_key.get(&key).is_some_and(|s| s.at == at) {
                self.by_key.remove(&key);
            }
        }
    }
}

/// Publishes events (see the module docs).
pub struct EventPublisher {
    client: kube::Client,
    controller: String,
    instance: String,
    recent: Mutex<Recent>,
}

impl EventPublisher {
    /// A publisher reporting as `controller` (instance: the host name, else `controller`).
    pub fn new(client: kube::Client, controller: &str) -> Self {
        let instance = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| controller.to_string());
        EventPublisher {
            client,
            controller: controller.to_string(),
            instance,
            recent: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publishes an event about `regarding` (its namespace holds the Event).
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let key = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (
                &regarding.uid,
                &regarding.name,
                &namespace,
                type_,
                reason,
                action,
                note,
            )
                .hash(&mut h);
            h.finish()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let now = Timestamp::now();
        let repeat = {
            let mut recent = self.lock();
            recent.forget_old(Instant::now());
            recent.by_key.get_mut(&key).map(|seen| {
                seen.count = seen.count.saturating_add(1);
                (seen.name.clone(), seen.count)
            })
        };
        if let Some((name, count)) = repeat {
            let series = EventSeries {
                count,
                last_observed_time: MicroTime(now),
            };
            api.patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "series": series })),
            )
            .await?;
            return Ok(());
        }
        let name = format!(
            "{}.{:x}",
            regarding.name.as_deref().unwrap_or(&self.controller),
            now.as_nanosecond()
        );
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace),
                ..Default::default()
            },
            action: Some(action.to_string()),
            reason: Some(reason.to_string()),
            note: Some(note.to_string()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(
                match type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_string(),
            ),
            ..Default::default()
        };
        api.create(&PostParams::default(), &event).await?;
        let at = Instant::now();
        let mut recent = self.lock();
        recent.by_key.insert(key, Seen { name, count: 1, at });
        recent.order.push_back((key, at));
        recent.forget_old(at);
        Ok(())
    }

    /// Number of remembered recent events.
    pub fn remembered(&self) -> usize {
        self.lock().by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(recent: &mut Recent, key: u64, at: Instant) {
        recent.by_key.insert(
            key,
            Seen {
                name: format!("e{key}"),
                count: 1,
                at,
            },
        );
        recent.order.push_back((key, at));
    }

    #[test]
    fn recent_events_are_bounded_in_time_and_number() {
        let t0 = Instant::now();
        let mut recent = Recent::default();
        for key in 0..(RECENT_CAPACITY as u64 + 10) {
            seen(&mut recent, key, t0);
        }
        recent.forget_old(t0);
        assert_eq!(recent.by_key.len(), RECENT_CAPACITY, "oldest dropped");
        assert!(!recent.by_key.contains_key(&0));
        assert!(recent.by_key.contains_key(&(RECENT_CAPACITY as u64 + 9)));
        recent.forget_old(t0 + SERIES_WINDOW - Duration::from_secs(1));
        assert_eq!(recent.by_key.len(), RECENT_CAPACITY, "still in the window");
        recent.forget_old(t0 + SERIES_WINDOW);
        assert!(
            recent.by_key.is_empty() && recent.order.is_empty(),
            "window over"
        );
        // A key seen again keeps its newer entry when the older one expires.
        seen(&mut recent, 1, t0);
        seen(&mut recent, 1, t0 + SERIES_WINDOW);
        recent.forget_old(t0 + SERIES_WINDOW);
        assert!(recent.by_key.contains_key(&1));
    }
}
