//! Type conversion (`atoi`, `int`, `int64`, `float64`, `toDecimal`) and reflection
//! (`typeOf`, `typeIs`, `kindOf`, `kindIs`), following spf13/cast as sprig uses it.

use super::{FuncDef, P, arg_str, f, m};
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    f("atoi", &[P::Str], None, |a| {
        Ok(Value::Int(atoi(&arg_str(a, 0))))
    }),
    f("int", &[P::Any], None, |a| Ok(Value::Int(to_int64(&a[0])))),
    f("int64", &[P::Any], None, |a| {
        Ok(Value::Int64(to_int64(&a[0])))
    }),
    f("float64", &[P::Any], None, |a| {
        Ok(Value::Float(to_float64(&a[0])))
    }),
    f("toDecimal", &[P::Any], None, |a| {
        let s = a[0].to_go_string_small();
        let s = s.as_str();
        Ok(Value::Int64(parse_go_int(s, 8).unwrap_or(0)))
    }),
    f("typeOf", &[P::Any], None, |a| {
        Ok(Value::from(a[0].type_name()))
    }),
    f("typeIs", &[P::Str, P::Any], None, |a| {
        Ok(Value::Bool(arg_str(a, 0) == a[1].type_name()))
    }),
    f("kindOf", &[P::Any], None, |a| {
        Ok(Value::from(a[0].kind_name()))
    }),
    f("kindIs", &[P::Str, P::Any], None, |a| {
        Ok(Value::Bool(arg_str(a, 0) == a[1].kind_name()))
    }),
    f("typeIsLike", &[P::Str, P::Any], None, |a| {
        let t = arg_str(a, 0);
        let name = a[1].type_name();
        Ok(Value::Bool(t == name || t.strip_prefix('*') == Some(name)))
    }),
    // reflect.DeepEqual: same Go type and equal contents (int and int64 differ, like Go).
    m("deepEqual", &[P::Any, P::Any], None, |b, a| {
        Ok(Value::Bool(super::collections::deep_eq(b, &a[0], &a[1])?))
    }),
];

/// Go's `strconv.Atoi`, errors mapped to 0 like sprig.
fn atoi(s: &str) -> i64 {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    // Go's Atoi returns the clamped value with a range error; sprig ignores the error.
    let v: i128 = body.parse().unwrap_or(i128::MAX);
    let v = if neg { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `strconv.ParseInt(s, base, 64)`; base 0 honours 0x/0o/0b/0 prefixes and underscores.
pub(crate) fn parse_go_int(s: &str, base: u32) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits, prefixed) = if base == 0 {
        let l = body.to_ascii_lowercase();
        if let Some(r) = l.strip_prefix("0x") {
            (16, r.to_string(), true)
        } else if let Some(r) = l.strip_prefix("0o") {
            (8, r.to_string(), true)
        } else if let Some(r) = l.strip_prefix("0b") {
            (2, r.to_string(), true)
        } else if l.len() > 1 && l.starts_with('0') {
            (8, l[1..].to_string(), true)
        } else {
            (10, l, false)
        }
    } else {
        (base, body.to_string(), false)
    };
    let digits = if base == 0 {
        // Go allows underscores between digits (and after a base prefix) in base 0.
        if digits.ends_with('_') || digits.contains("__") || (!prefixed && digits.starts_with('_'))
        {
            return None;
        }
        digits.replace('_', "")
    } else {
        if digits.contains('_') {
            return None;
        }
        digits
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

fn trim_zero_decimal(s: &str) -> &str {
    let Some(dot) = s.find('.') else { return s };
    if s[dot + 1..].bytes().all(|b| b == b'0') && dot > 0 {
        &s[..dot]
    } else {
        s
    }
}

/// spf13/cast `ToInt64` (errors → 0).
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_go_int(trim_zero_decimal(&s.to_str_lossy()), 0).unwrap_or(0),
        _ => 0,
    }
}

/// spf13/cast `ToFloat64` (errors → 0).
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.to_str_lossy().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}
