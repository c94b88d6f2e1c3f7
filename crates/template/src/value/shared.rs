//! Shared, immutable lists and maps that know how deeply they nest.
//!
//! Values are reference-counted, so a template can build a value whose logical size is far
//! larger than the memory it occupies (`$l = list $l $l` doubles it each time), and a value
//! nested deeply enough would overflow the stack of every recursive walk over it (printing,
//! JSON, comparison, even dropping it). Each collection therefore caches its nesting depth,
//! computed from its direct children when it is built, so the executor can refuse a result
//! that nests too deeply in constant time, before anything walks it.

use std::ops::Deref;
use std::sync::Arc;

use super::{Map, Value};

/// A shared, immutable collection (a list or a map) with its nesting depth cached.
pub struct Shared<T> {
    inner: Arc<Inner<T>>,
}

#[derive(Clone)]
struct Inner<T> {
    value: T,
    depth: u32,
}

/// A list value (Go's `[]interface{}`).
pub type List = Shared<Vec<Value>>;
/// A map value (Go's `map[string]interface{}` or `map[string]string`).
pub type Dict = Shared<Map>;

/// Collections whose elements are template values.
pub trait Children {
    /// The direct children.
    fn children(&self) -> impl Iterator<Item = &Value>;
}

impl Children for Vec<Value> {
    fn children(&self) -> impl Iterator<Item = &Value> {
        self.iter()
    }
}

impl Children for Map {
    fn children(&self) -> impl Iterator<Item = &Value> {
        self.values()
    }
}

fn depth_of<T: Children>(value: &T) -> u32 {
    value
        .children()
        .map(Value::depth)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
}

impl<T: Children> Shared<T> {
    /// Wraps `value`, computing its depth from its direct children.
    pub fn new(value: T) -> Self {
        let depth = depth_of(&value);
        Shared {
            inner: Arc::new(Inner { value, depth }),
        }
    }

    /// Nesting depth: 1 for a collection of scalars, 1 + the deepest child otherwise.
    pub fn depth(&self) -> u32 {
        self.inner.depth
    }

    /// Whether both are the same allocation (Go's "same slice" / "same map").
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}

impl Shared<Map> {
    /// Inserts into this map (copying it first if it is shared).
    pub fn insert(&mut self, key: String, value: Value) {
        let child = value.depth();
        let inner = Arc::make_mut(&mut self.inner);
        inner.value.insert(key, value);
        // Never lowered on replacement: the cached depth may overstate, never understate.
        inner.depth = inner.depth.max(child.saturating_add(1));
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner.value
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Children + Default> Default for Shared<T> {
    fn default() -> Self {
        Shared::new(T::default())
    }
}

/// Same allocation, or equal contents (Go's `reflect.DeepEqual` shortcut for slices and maps).
impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.value == other.inner.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_one_more_than_the_deepest_child() {
        let flat = List::new(vec![Value::Int(1), Value::from("x")]);
        assert_eq!(flat.depth(), 1);
        let nested = List::new(vec![Value::List(flat.clone()), Value::Nil]);
        assert_eq!(nested.depth(), 2);
        let mut map = Dict::new(Map::new());
        assert_eq!(map.depth(), 1);
        map.insert("k".into(), Value::List(nested));
        assert_eq!(map.depth(), 3);
    }

    #[test]
    fn insert_copies_a_shared_map() {
        let mut a = Dict::new(Map::new());
        let b = a.clone();
        a.insert("k".into(), Value::Int(1));
        assert_eq!(a.len(), 1);
        assert!(b.is_empty());
    }
}
