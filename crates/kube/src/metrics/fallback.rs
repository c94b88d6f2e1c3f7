//! `secretsync_externalsecret_served_from_fallback{namespace,name}`: 1 while an ExternalSecret's
//! Secret holds values its `secretsync.io/fallback-store` served (its primary store was
//! unavailable at the last successful sync), 0 once a sync is served by the primary again.
//!
//! The series of an ExternalSecret exists from its first successful sync until it is deleted; a
//! failed sync leaves the gauge as it was (the Secret is not touched either).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::eso::{header, sample};

/// The family name.
pub const FAMILY: &str = "secretsync_externalsecret_served_from_fallback";

/// The gauge per ExternalSecret (namespace, name).
#[derive(Default)]
pub struct ServedFromFallback {
    objects: Mutex<BTreeMap<(String, String), bool>>,
}

impl ServedFromFallback {
    /// Records whether the last successful sync of `namespace/name` used the fallback store.
    pub fn set(&self, namespace: &str, name: &str, served: bool) {
        super::lock(&self.objects).insert((namespace.to_string(), name.to_string()), served);
    }

    /// The gauge of `namespace/name`, if it has one.
    pub fn get(&self, namespace: &str, name: &str) -> Option<bool> {
        super::lock(&self.objects)
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// Drops the series of a deleted ExternalSecret.
    pub fn forget(&self, namespace: &str, name: &str) {
        super::lock(&self.objects).remove(&(namespace.to_string(), name.to_string()));
    }

    /// Keeps only the series of ExternalSecrets for which `alive` answers true.
    pub fn retain(&self, alive: impl Fn(&str, &str) -> bool) {
        super::lock(&self.objects).retain(|(ns, name), _| alive(ns, name));
    }

    /// Appends the family in the Prometheus text format (0.0.4).
    pub fn encode(&self, out: &mut String) {
        header(
            out,
            FAMILY,
            "gauge",
            "1 while the ExternalSecret's Secret holds values served by its secretsync.io/fallback-store (primary store unavailable).",
        );
        for ((ns, name), served) in super::lock(&self.objects).iter() {
            sample(
                out,
                FAMILY,
                &[("name", name), ("namespace", ns)],
                f64::from(u8::from(*served)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_series_per_external_secret_until_deleted() {
        let g = ServedFromFallback::default();
        g.set("ns", "a", true);
        g.set("ns", "b", true);
        g.set("ns", "b", false);
        g.set("ns", "c", true);
        g.forget("ns", "c");
        g.set("other", "d", true);
        g.retain(|ns, _| ns != "other");
        let mut text = String::new();
        g.encode(&mut text);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "secretsync_externalsecret_served_from_fallback{name=\"a\",namespace=\"ns\"} 1",
                "secretsync_externalsecret_served_from_fallback{name=\"b\",namespace=\"ns\"} 0",
            ],
            "{text}"
        );
        assert!(text.contains("# TYPE secretsync_externalsecret_served_from_fallback gauge"));
    }
}
