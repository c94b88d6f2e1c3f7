//! [`NsMap`]: a map keyed by `(namespace, name)` that holds each namespace's name once and
//! each name as a boxed `str` (16 bytes instead of the 48 of a `(String, String)` key, and
//! no spare capacity), looked up by `&str` without building a key. The per-object caches of
//! the operator use it: at 10,000 ExternalSecrets every byte per entry is 10 kB.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Values keyed by `(namespace, name)`, grouped by namespace.
#[derive(Debug)]
pub struct NsMap<V> {
    namespaces: HashMap<Box<str>, HashMap<Box<str>, V>>,
    len: usize,
}

impl<V> Default for NsMap<V> {
    fn default() -> Self {
        NsMap {
            namespaces: HashMap::new(),
            len: 0,
        }
    }
}

impl<V> NsMap<V> {
    /// The value of `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<&V> {
        self.namespaces.get(namespace)?.get(name)
    }

    /// The value of `namespace/name`, mutably.
    pub fn get_mut(&mut self, namespace: &str, name: &str) -> Option<&mut V> {
        self.namespaces.get_mut(namespace)?.get_mut(name)
    }

    /// The value of `namespace/name`, inserted with `make` when absent.
    pub fn get_or_insert_with(
        &mut self,
        namespace: &str,
        name: &str,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let names = match self.namespaces.entry(namespace.into()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(HashMap::new()),
        };
        // Checked first so that an existing entry costs no key allocation.
        if !names.contains_key(name) {
            names.insert(name.into(), make());
            self.len += 1;
        }
        names
            .get_mut(name)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// Stores `value` for `namespace/name`, returning the value it replaced.
    pub fn insert(&mut self, namespace: &str, name: &str, value: V) -> Option<V> {
        let names = match self.namespaces.get_mut(namespace) {
            Some(names) => names,
            None => self.namespaces.entry(namespace.into()).or_default(),
        };
        let old = match names.get_mut(name) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                names.insert(name.into(), value);
                None
            }
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes and returns the value of `namespace/name`; a namespace left empty is dropped.
    pub fn remove(&mut self, namespace: &str, name: &str) -> Option<V> {
        let names = self.namespaces.get_mut(namespace)?;
        let old = names.remove(name)?;
        self.len -= 1;
        if names.is_empty() {
            self.namespaces.remove(namespace);
        }
        Some(old)
    }

    /// Keeps the entries for which `keep(namespace, name, value)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str, &mut V) -> bool) {
        let mut len = 0;
        self.namespaces.retain(|ns, names| {
            names.retain(|name, value| keep(ns, name, value));
            len += names.len();
            !names.is_empty()
        });
        self.len = len;
    }

    /// The entries of `namespace`, in no particular order.
    pub fn in_namespace<'a>(&'a self, namespace: &str) -> impl Iterator<Item = (&'a str, &'a V)> {
        self.namespaces
            .get(namespace)
            .into_iter()
            .flat_map(|names| names.iter().map(|(name, value)| (&**name, value)))
    }

    /// Every entry as `(namespace, name, value)`, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &V)> {
        self.namespaces.iter().flat_map(|(ns, names)| {
            names
                .iter()
                .map(move |(name, value)| (&**ns, &**name, value))
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_and_counted() {
        let mut map = NsMap::default();
        assert_eq!(map.insert("a", "x", 1), None);
        assert_eq!(map.insert("b", "x", 2), None);
        assert_eq!(map.insert("a", "x", 3), Some(1), "replaced");
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("a", "x"), Some(&3));
        assert_eq!(map.get("b", "x"), Some(&2));
        assert_eq!(map.get("c", "x"), None);
        assert_eq!(map.get("a", "y"), None);
        *map.get_or_insert_with("a", "y", || 10) += 1;
        *map.get_or_insert_with("a", "y", || 100) += 1;
        assert_eq!(map.get("a", "y"), Some(&12), "made once, then found");
        assert_eq!(map.len(), 3);
        let mut in_a: Vec<_> = map.in_namespace("a").collect();
        in_a.sort();
        assert_eq!(in_a, [("x", &3), ("y", &12)]);
        assert_eq!(map.remove("b", "x"), Some(2));
        assert_eq!(map.remove("b", "x"), None);
        assert!(
            !map.namespaces.contains_key("b"),
            "an emptied namespace is dropped"
        );
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn retain_recounts_and_drops_empty_namespaces() {
        let mut map = NsMap::default();
        for (ns, name, v) in [("a", "x", 1), ("a", "y", 2), ("b", "x", 3)] {
            map.insert(ns, name, v);
        }
        map.retain(|ns, _, v| {
            *v *= 10;
            ns == "a"
        });
        assert_eq!(map.len(), 2);
        assert!(!map.namespaces.contains_key("b"));
        let mut all: Vec<_> = map.iter().collect();
        all.sort();
        assert_eq!(all, [("a", "x", &10), ("a", "y", &20)]);
        assert!(!map.is_empty());
    }
}
