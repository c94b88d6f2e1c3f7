//! Object storage: a BTreeMap of JSON objects, a global resourceVersion counter, a bounded event
//! history for watch resumption, and the live watchers.

use super::selectors::Selector;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Identifies a stored object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    /// API group.
    pub group: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace ("" for cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// One change, kept for watch resumption.
#[derive(Debug)]
pub struct Change {
    /// The resourceVersion the change produced.
    pub rv: u64,
    /// Which object.
    pub key: ObjKey,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// Object before the change.
    pub before: Option<Arc<Value>>,
    /// Object after the change (the final state for deletions).
    pub after: Arc<Value>,
}

/// What a watcher wants to see.
#[derive(Debug, Clone)]
pub struct WatchFilter {
    /// API group.
    pub group: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace, or `None` for all.
    pub namespace: Option<String>,
    /// Label and field selectors.
    pub selector: Selector,
}

impl WatchFilter {
    /// Maps a change to the event this watcher sees (selector transitions become ADDED/DELETED).
    pub fn event_for(&self, c: &Change) -> Option<(&'static str, Arc<Value>)> {
        if c.key.group != self.group || c.key.resource != self.resource {
            return None;
        }
        if let Some(ns) = &self.namespace
            && &c.key.namespace != ns
        {
            return None;
        }
        let after_matches = self.selector.matches(&c.after);
        let before_matches = c.before.as_ref().is_some_and(|b| self.selector.matches(b));
        match c.kind {
            "DELETED" => (before_matches || after_matches).then(|| ("DELETED", c.after.clone())),
            "ADDED" => after_matches.then(|| ("ADDED", c.after.clone())),
            _ => match (before_matches, after_matches) {
                (true, true) => Some(("MODIFIED", c.after.clone())),
                (false, true) => Some(("ADDED", c.after.clone())),
                (true, false) => Some(("DELETED", c.after.clone())),
                (false, false) => None,
            },
        }
    }
}

/// A message to a watch stream.
#[derive(Debug)]
pub enum WatchMsg {
    /// A watch event.
    Event(&'static str, Arc<Value>),
}

struct Watcher {
    filter: WatchFilter,
    tx: mpsc::UnboundedSender<WatchMsg>,
}

/// The object store.
pub struct Store {
    objects: BTreeMap<ObjKey, Arc<Value>>,
    rv: u64,
    history: VecDeque<Arc<Change>>,
    history_limit: usize,
    /// resourceVersion of the newest change that fell out of the history.
    compacted: u64,
    watchers: Vec<Watcher>,
    /// How many stored objects carry each `metadata.uid`.
    uids: HashMap<String, usize>,
}

fn uid_of(obj: &Value) -> Option<&str> {
    obj.get("metadata")?.get("uid")?.as_str()
}

impl Store {
    /// An empty store keeping `history_limit` changes for watch resumption.
    pub fn new(history_limit: usize) -> Self {
        Self {
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 1,
            watchers: Vec::new(),
            uids: HashMap::new(),
        }
    }

    /// The current resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch can resume from.
    pub fn compacted_rv(&self) -> u64 {
        self.compacted
    }

    /// Reads one object.
    pub fn get(&self, key: &ObjKey) -> Option<Arc<Value>> {
        self.objects.get(key).cloned()
    }

    /// Whether a stored object has `metadata.uid` = `uid`.
    pub fn has_uid(&self, uid: &str) -> bool {
        self.uids.contains_key(uid)
    }

    fn index_uid(&mut self, obj: &Value) {
        if let Some(uid) = uid_of(obj) {
            *self.uids.entry(uid.to_string()).or_insert(0) += 1;
        }
    }

    fn unindex_uid(&mut self, obj: &Value) {
        if let Some(uid) = uid_of(obj)
            && let Some(n) = self.uids.get_mut(uid)
        {
            *n -= 1;
            if *n == 0 {
                self.uids.remove(uid);
            }
        }
    }

    /// Iterates one resource's objects (optionally in one namespace), in key order.
    pub fn list<'a>(
        &'a self,
        group: &'a str,
        resource: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a {
        let start = ObjKey {
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.unwrap_or_default().into(),
            name: String::new(),
        };
        self.objects.range(start..).take_while(move |(k, _)| {
            k.group == group
                && k.resource == resource
                && namespace.is_none_or(|ns| k.namespace == ns)
        })
    }

    /// Every object (for lifecycle sweeps).
    pub fn all(&self) -> impl Iterator<Item = (&ObjKey, &Arc<Value>)> {
        self.objects.iter()
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn record(&mut self, change: Change) {
        let change = Arc::new(change);
        self.watchers.retain(|w| match w.filter.event_for(&change) {
            Some((kind, obj)) => w.tx.send(WatchMsg::Event(kind, obj)).is_ok(),
            None => !w.tx.is_closed(),
        });
        self.history.push_back(change);
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
    }

    /// Stores (creates or replaces) an object, assigning the next resourceVersion.
    pub fn put(&mut self, key: ObjKey, mut obj: Value) -> Arc<Value> {
        let rv = self.next_rv();
        super::util::metadata_mut(&mut obj).insert("resourceVersion".into(), rv.to_string().into());
        let after = Arc::new(obj);
        let before = self.objects.insert(key.clone(), after.clone());
        if let Some(b) = &before {
            self.unindex_uid(b);
        }
        self.index_uid(&after);
        let kind = if before.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.record(Change {
            rv,
            key,
            kind,
            before,
            after: after.clone(),
        });
        after
    }

    /// Removes an object; the returned final state carries the deletion's resourceVersion.
    pub fn remove(&mut self, key: &ObjKey) -> Option<Arc<Value>> {
        self.remove_with_final_state(key, None)
    }

    /// Removes an object, reporting `final_state` (e.g. the update that dropped the last
    /// finalizer) as the DELETED object instead of the stored one.
    pub fn remove_with_final_state(
        &mut self,
        key: &ObjKey,
        final_state: Option<Value>,
    ) -> Option<Arc<Value>> {
        let before = self.objects.remove(key)?;
        self.unindex_uid(&before);
        let rv = self.next_rv();
        let mut last = final_state.unwrap_or_else(|| (*before).clone());
        super::util::metadata_mut(&mut last)
            .insert("resourceVersion".into(), rv.to_string().into());
        let after = Arc::new(last);
        self.record(Change {
            rv,
            key: key.clone(),
            kind: "DELETED",
            before: Some(before),
            after: after.clone(),
        });
        Some(after)
    }

    /// Changes after `rv` that `filter` sees, or `None` when `rv` is older than the history.
    pub fn changes_since(
        &self,
        rv: u64,
        filter: &WatchFilter,
    ) -> Option<Vec<(&'static str, Arc<Value>)>> {
        if rv < self.compacted {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|c| c.rv > rv)
                .filter_map(|c| filter.event_for(c))
                .collect(),
        )
    }

    /// Registers a watcher; returns its receiver.
    pub fn subscribe(&mut self, filter: WatchFilter) -> mpsc::UnboundedReceiver<WatchMsg> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.watchers.push(Watcher { filter, tx });
        rx
    }
}
