//! Dynamic values the template engine operates on, modelled on the Go types that
//! `text/template` + sprig produce, and Go's `fmt` `%v` printing rules for them.

mod float;
mod shared;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;

use zeroize::Zeroize;

pub use float::format_float_g;
pub(crate) use float::{format_exp, format_fixed, shortest_digits};
pub use shared::{Children, Dict, List, Shared};

use crate::budget::{Bounded, TooLarge};

/// A map with string keys, sorted like Go prints and ranges over maps.
pub type Map = BTreeMap<String, Value>;

/// A shared, immutable byte string (Go's `string`: any bytes, usually UTF-8) that is
/// wiped from memory when its last reference drops.
///
/// Template data is secret material, so every string value the engine holds (context
/// values and every intermediate result) is zeroized on drop. Provider values may be
/// binary (a PKCS#12 archive, a keystore); they are carried byte-exactly like in Go.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Str(Arc<Vec<u8>>);

impl Str {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// The text; invalid UTF-8 sequences become U+FFFD (like Go's rune iteration).
    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Length in bytes (Go's `len`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Redacted: the content may be secret.
impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Str(<{} bytes>)", self.0.len())
    }
}

impl Drop for Str {
    fn drop(&mut self) {
        if let Some(s) = Arc::get_mut(&mut self.0) {
            s.zeroize();
        }
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Arc::new(s.into_bytes()))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(Arc::new(s.as_bytes().to_vec()))
    }
}

impl From<Vec<u8>> for Str {
    fn from(b: Vec<u8>) -> Self {
        Str(Arc::new(b))
    }
}

impl From<&[u8]> for Str {
    fn from(b: &[u8]) -> Self {
        Str(Arc::new(b.to_vec()))
    }
}

/// A dynamically typed template value.
///
/// Variants map to the Go types templates see in ESO: the context is a
/// `map[string]string` ([`Value::StrMap`]); sprig's `dict`/`list` produce
/// `map[string]interface{}` ([`Value::Map`]) and `[]interface{}` ([`Value::List`]);
/// Go distinguishes `int` (literals, `len`, `atoi`) from `int64` (sprig math results).
#[derive(Clone, PartialEq, Default)]
pub enum Value {
    /// Go's untyped `nil` / a missing value.
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// `int`.
    Int(i64),
    /// `int64`.
    Int64(i64),
    /// `float64`.
    Float(f64),
    /// `string`.
    String(Str),
    /// `[]interface{}` (also used for `[]string`).
    List(List),
    /// `map[string]interface{}`.
    Map(Dict),
    /// `map[string]string`: the template context and sprig's `split` results.
    StrMap(Dict),
    /// `time.Time` (sprig's date functions).
    Time(Box<crate::gotime::GoTime>),
}

/// Redacted: values are secret material.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value::<{}>(redacted)", self.type_name())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::String(b.into())
    }
}
impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::String(b.into())
    }
}
impl From<Str> for Value {
    fn from(s: Str) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(List::new(v))
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(Dict::new(m))
    }
}

impl Value {
    /// Build a string value.
    pub fn str(s: impl Into<Str>) -> Value {
        Value::String(s.into())
    }

    /// Build a list value.
    pub fn list(v: Vec<Value>) -> Value {
        Value::List(List::new(v))
    }

    /// Nesting depth: 0 for scalars, 1 for a list or map of scalars, and so on.
    pub fn depth(&self) -> u32 {
        match self {
            Value::List(l) => l.depth(),
            Value::Map(m) | Value::StrMap(m) => m.depth(),
            _ => 0,
        }
    }

    /// The number of elements a list or map holds (0 for scalars).
    pub fn collection_len(&self) -> usize {
        match self {
            Value::List(l) => l.len(),
            Value::Map(m) | Value::StrMap(m) => m.len(),
            _ => 0,
        }
    }

    /// Whether `self` and `other` share their storage (the same string, list or map), so
    /// that returning one of them as a function result allocated nothing new.
    pub(crate) fn shares_storage(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::String(a), Value::String(b)) => Arc::ptr_eq(&a.0, &b.0),
            (Value::List(a), Value::List(b)) => List::ptr_eq(a, b),
            (Value::Map(a) | Value::StrMap(a), Value::Map(b) | Value::StrMap(b)) => {
                Dict::ptr_eq(a, b)
            }
            _ => false,
        }
    }

    /// The Go type name, used in error messages and `typeOf`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::StrMap(_) => "map[string]string",
            Value::Time(_) => "time.Time",
        }
    }

    /// The Go reflect kind name (`kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) | Value::StrMap(_) => "map",
            Value::Time(_) => "struct",
        }
    }

    /// Go template truth: false for nil, false, zero numbers and empty strings/lists/maps.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) | Value::StrMap(m) => !m.is_empty(),
            Value::Time(_) => true,
        }
    }

    /// The string's bytes, if this is a string value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The string as text (invalid UTF-8 replaced), if this is a string value.
    pub fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::String(s) => Some(s.to_str_lossy()),
            _ => None,
        }
    }

    /// The entries, if this is a map of either kind.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) | Value::StrMap(m) => Some(m),
            _ => None,
        }
    }

    /// Append Go's `fmt.Sprint` (`%v`) rendering of this value to `out`, failing once `out`
    /// would pass its limit (every element prints at least one byte, so the walk is bounded
    /// by the limit even for values that share their parts).
    pub(crate) fn write_go(&self, out: &mut Bounded<'_>) -> Result<(), TooLarge> {
        match self {
            Value::Nil => out.push(b"<nil>"),
            Value::Bool(b) => out.push(if *b { b"true" } else { b"false" }),
            Value::Int(i) | Value::Int64(i) => {
                let mut buf = Vec::with_capacity(20);
                let _ = write!(buf, "{i}");
                out.push(&buf)
            }
            Value::Float(f) => out.push(format_float_g(*f).as_bytes()),
            Value::String(s) => out.push(s.as_bytes()),
            Value::List(l) => {
                out.push(b"[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b" ")?;
                    }
                    v.write_go(out)?;
                }
                out.push(b"]")
            }
            Value::Map(m) | Value::StrMap(m) => {
                out.push(b"map[")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(b" ")?;
                    }
                    out.push(k.as_bytes())?;
                    out.push(b":")?;
                    v.write_go(out)?;
                }
                out.push(b"]")
            }
            Value::Time(t) => out.push(t.go_string().as_bytes()),
        }
    }

    /// Go's `fmt.Sprint` of this value, as bytes, if it fits in `limit` bytes.
    pub(crate) fn to_go_bytes(&self, limit: usize) -> Result<Vec<u8>, TooLarge> {
        let mut s = Vec::new();
        self.write_go(&mut Bounded::new(&mut s, limit))?;
        Ok(s)
    }

    /// Go's `fmt.Sprint` of a value known to be small (a scalar, or a map key built from
    /// one): lists and maps print at most [`SMALL_PRINT_LIMIT`] bytes.
    pub(crate) fn to_go_string_small(&self) -> String {
        let bytes = self
            .to_go_bytes(SMALL_PRINT_LIMIT)
            .unwrap_or_else(|_| b"<too large>".to_vec());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Value {
    /// Go's `fmt.Sprint` of this value as text (invalid UTF-8 replaced); values printing to
    /// more than 16 MiB come out as `<too large>`.
    pub fn to_go_string(&self) -> String {
        let bytes = self
            .to_go_bytes(16 << 20)
            .unwrap_or_else(|_| b"<too large>".to_vec());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Print limit for [`Value::to_go_string_small`].
pub(crate) const SMALL_PRINT_LIMIT: usize = 64 << 10;
