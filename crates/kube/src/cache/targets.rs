//! ExternalSecrets by the Secret they target, kept from the ExternalSecret watch, so that an
//! event on a managed Secret finds the ExternalSecrets to requeue without scanning them all.

use std::sync::{Mutex, MutexGuard};

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use secretsync_model::external_secret::ExternalSecret;

use super::ns_map::NsMap;

#[derive(Default)]
struct Index {
    /// `(namespace, ExternalSecret)` → its target when that is not its own name (`None`: the
    /// ExternalSecret targets the Secret of its own name, the usual case, held in 32 bytes).
    target_of: NsMap<Option<Box<str>>>,
    /// `(namespace, target)` → the ExternalSecrets of other names targeting it.
    renamed: NsMap<Vec<Box<str>>>,
}

impl Index {
    fn insert(&mut self, es: &ExternalSecret) {
        let ns = es.namespace().unwrap_or_default();
        let name = es.name_any();
        let target = es.target_name();
        self.remove(&ns, &name);
        if target == name {
            self.target_of.insert(&ns, &name, None);
        } else {
            self.renamed
                .get_or_insert_with(&ns, &target, Vec::new)
                .push(name.as_str().into());
            self.target_of.insert(&ns, &name, Some(target.into()));
        }
    }

    fn remove(&mut self, ns: &str, name: &str) {
        let Some(Some(target)) = self.target_of.remove(ns, name) else {
            return;
        };
        if let Some(names) = self.renamed.get_mut(ns, &target) {
            names.retain(|n| **n != *name);
            if names.is_empty() {
                self.renamed.remove(ns, &target);
            }
        }
    }

    /// Names of the ExternalSecrets of `ns` targeting Secret `secret`, sorted.
    fn targeting(&self, ns: &str, secret: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .renamed
            .get(ns, secret)
            .into_iter()
            .flatten()
            .map(|n| n.to_string())
            .collect();
        if let Some(None) = self.target_of.get(ns, secret) {
            names.push(secret.to_string());
        }
        names.sort();
        names
    }
}

/// The index (see the module docs).
#[derive(Default)]
pub struct TargetIndex {
    live: Mutex<Index>,
    building: Mutex<Option<Index>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TargetIndex {
    /// Applies one event of the ExternalSecret watch.
    pub fn apply(&self, event: &watcher::Event<ExternalSecret>) {
        match event {
            watcher::Event::Apply(es) => lock(&self.live).insert(es),
            watcher::Event::Delete(es) => {
                lock(&self.live).remove(&es.namespace().unwrap_or_default(), &es.name_any());
            }
            watcher::Event::Init => *lock(&self.building) = Some(Index::default()),
            watcher::Event::InitApply(es) => lock(&self.building)
                .get_or_insert_with(Index::default)
                .insert(es),
            watcher::Event::InitDone => {
                let listed = lock(&self.building).take().unwrap_or_default();
                *lock(&self.live) = listed;
            }
        }
    }

    /// The ExternalSecrets of `namespace` whose target is Secret `secret`.
    pub fn targeting(&self, namespace: &str, secret: &str) -> Vec<ObjectRef<ExternalSecret>> {
        lock(&self.live)
            .targeting(namespace, secret)
            .into_iter()
            .map(|name| ObjectRef::new(&name).within(namespace))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es(name: &str, target: &str) -> ExternalSecret {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"target": {"name": target}}
        }))
        .expect("ExternalSecret")
    }

    fn names(index: &TargetIndex, secret: &str) -> Vec<String> {
        index
            .targeting("ns", secret)
            .into_iter()
            .map(|r| r.name)
            .collect()
    }

    #[test]
    fn follows_target_changes_deletions_and_relists() {
        let index = TargetIndex::default();
        index.apply(&watcher::Event::Apply(es("a", "s1")));
        index.apply(&watcher::Event::Apply(es("b", "s1")));
        assert_eq!(names(&index, "s1"), ["a", "b"]);
        index.apply(&watcher::Event::Apply(es("a", "s2")));
        assert_eq!(names(&index, "s1"), ["b"], "a moved to s2");
        assert_eq!(names(&index, "s2"), ["a"]);
        index.apply(&watcher::Event::Delete(es("b", "s1")));
        assert!(names(&index, "s1").is_empty());
        assert!(index.targeting("other", "s2").is_empty(), "namespaced");
        // A re-list replaces the index once complete; until then the old one answers.
        index.apply(&watcher::Event::Init);
        index.apply(&watcher::Event::InitApply(es("c", "s3")));
        assert_eq!(names(&index, "s2"), ["a"]);
        index.apply(&watcher::Event::InitDone);
        assert!(names(&index, "s2").is_empty());
        assert_eq!(names(&index, "s3"), ["c"]);
        // An ExternalSecret without target.name targets its own name.
        let mut unnamed = es("d", "");
        unnamed.spec.target.name = None;
        index.apply(&watcher::Event::Apply(unnamed));
        assert_eq!(names(&index, "d"), ["d"]);
        // One targeting its own name and one renamed onto it.
        index.apply(&watcher::Event::Apply(es("e", "d")));
        assert_eq!(names(&index, "d"), ["d", "e"]);
        index.apply(&watcher::Event::Apply(es("d", "s4")));
        assert_eq!(names(&index, "d"), ["e"], "d moved away from its own name");
        assert_eq!(names(&index, "s4"), ["d"]);
        index.apply(&watcher::Event::Delete(es("e", "d")));
        assert!(names(&index, "d").is_empty());
    }
}
