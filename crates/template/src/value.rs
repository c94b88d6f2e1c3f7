//! Dynamic values the template engine operates on, modelled on the Go types that
//! `text/template` + sprig produce, and Go's `fmt` `%v` printing rules for them.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;

use zeroize::Zeroize;

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
    List(Arc<Vec<Value>>),
    /// `map[string]interface{}`.
    Map(Arc<Map>),
    /// `map[string]string`: the template context and sprig's `split` results.
    StrMap(Arc<Map>),
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
        Value::List(Arc::new(v))
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(Arc::new(m))
    }
}

impl Value {
    /// Build a string value.
    pub fn str(s: impl Into<Str>) -> Value {
        Value::String(s.into())
    }

    /// Build a list value.
    pub fn list(v: Vec<Value>) -> Value {
        Value::List(Arc::new(v))
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

    /// Append Go's `fmt.Sprint` (`%v`) rendering of this value to `out`.
    pub fn write_go(&self, out: &mut Vec<u8>) {
        match self {
            Value::Nil => out.extend_from_slice(b"<nil>"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) | Value::Int64(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.extend_from_slice(format_float_g(*f).as_bytes()),
            Value::String(s) => out.extend_from_slice(s.as_bytes()),
            Value::List(l) => {
                out.push(b'[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    v.write_go(out);
                }
                out.push(b']');
            }
            Value::Map(m) | Value::StrMap(m) => {
                out.extend_from_slice(b"map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(k.as_bytes());
                    out.push(b':');
                    v.write_go(out);
                }
                out.push(b']');
            }
            Value::Time(t) => out.extend_from_slice(t.go_string().as_bytes()),
        }
    }

    /// Go's `fmt.Sprint` of this value, as bytes.
    pub fn to_go_bytes(&self) -> Vec<u8> {
        let mut s = Vec::new();
        self.write_go(&mut s);
        s
    }

    /// Go's `fmt.Sprint` of this value as text (invalid UTF-8 replaced).
    pub fn to_go_string(&self) -> String {
        String::from_utf8_lossy(&self.to_go_bytes()).into_owned()
    }
}

/// Decimal digits and decimal-point position of the shortest round-trip representation
/// of `|f|` (like Go's `strconv` shortest mode): value = 0.DIGITS × 10^dp.
pub(crate) fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    if digits.is_empty() {
        return ("0".to_string(), 1);
    }
    (digits, exp + 1)
}

fn non_finite(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

/// Format digits in `%e` style with the given exponent character.
pub(crate) fn format_exp(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// Format digits in `%f` style with no trailing precision beyond the digits.
pub(crate) fn format_fixed(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let dp = dp as usize;
        if digits.len() <= dp {
            out.push_str(digits);
            for _ in digits.len()..dp {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dp]);
            out.push('.');
            out.push_str(&digits[dp..]);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which is what `%v` prints for float64.
pub fn format_float_g(f: f64) -> String {
    if let Some(s) = non_finite(f) {
        return s;
    }
    let neg = f.is_sign_negative();
    if f == 0.0 {
        return if neg { "-0".into() } else { "0".into() };
    }
    let (digits, dp) = shortest_digits(f);
    let exp = dp - 1;
    // strconv's shortest %g switches to exponent form below 1e-4 and from 1e6 (eprec = 6).
    if !(-4..6).contains(&exp) {
        format_exp(neg, &digits, dp)
    } else {
        format_fixed(neg, &digits, dp)
    }
}

/// Go's `encoding/json` float64 encoding.
pub fn format_float_json(f: f64) -> String {
    let abs = f.abs();
    let neg = f.is_sign_negative() && f != 0.0;
    if f == 0.0 {
        return "0".into();
    }
    let (digits, dp) = shortest_digits(f);
    if !(1e-6..1e21).contains(&abs) {
        let s = format_exp(neg, &digits, dp);
        // Go cleans e-09 up to e-9.
        if let Some(idx) = s.find("e-0") {
            let mut t = s.clone();
            t.remove(idx + 2);
            return t;
        }
        if let Some(idx) = s.find("e+0") {
            let mut t = s.clone();
            t.remove(idx + 2);
            return t;
        }
        s
    } else {
        format_fixed(neg, &digits, dp)
    }
}
