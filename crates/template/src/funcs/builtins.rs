//! Go's `text/template` builtins (`and`, `or`, `not`, `len`, `index`, comparisons,
//! `html`, `js`, `urlquery`, `call`). `print*` live in `fmt.rs`; `slice` is sprig's.

use std::cmp::Ordering;

use super::{FuncDef, P, f, m};
use crate::budget::{Bounded, Budget};
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    // and/or are evaluated lazily by the executor; these bodies are only placeholders.
    f("and", &[P::Any], Some(P::Any), |a| {
        Ok(a.last().cloned().unwrap_or_default())
    }),
    f("or", &[P::Any], Some(P::Any), |a| {
        Ok(a.last().cloned().unwrap_or_default())
    }),
    f("not", &[P::Any], None, |a| Ok(Value::Bool(!a[0].truthy()))),
    f("len", &[P::Any], None, len),
    f("index", &[P::Any], Some(P::Any), index),
    f("eq", &[P::Any], Some(P::Any), eq),
    f("ne", &[P::Any, P::Any], None, |a| {
        eq(a).map(|v| Value::Bool(!v.truthy()))
    }),
    f("lt", &[P::Any, P::Any], None, |a| {
        cmp(a, |o| o == Ordering::Less)
    }),
    f("le", &[P::Any, P::Any], None, |a| {
        cmp(a, |o| o != Ordering::Greater)
    }),
    f("gt", &[P::Any, P::Any], None, |a| {
        cmp(a, |o| o == Ordering::Greater)
    }),
    f("ge", &[P::Any, P::Any], None, |a| {
        cmp(a, |o| o != Ordering::Less)
    }),
    // The escapes grow their input at most sixfold (`<` → `\u003C`).
    m("html", &[], Some(P::Any), |b, a| {
        let text = eval_args(b, a, 6)?;
        Ok(Value::from(html_escape(&String::from_utf8_lossy(&text))))
    }),
    m("js", &[], Some(P::Any), |b, a| {
        let text = eval_args(b, a, 6)?;
        Ok(Value::from(js_escape(&String::from_utf8_lossy(&text))))
    }),
    m("urlquery", &[], Some(P::Any), |b, a| {
        let text = eval_args(b, a, 3)?;
        Ok(Value::from(query_escape(&text)))
    }),
    f("call", &[P::Any], Some(P::Any), |_| {
        Err("call of non-function (templates have no function values here)".into())
    }),
];

fn len(a: &[Value]) -> Result<Value, String> {
    match &a[0] {
        Value::String(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) | Value::StrMap(m) => Ok(Value::Int(m.len() as i64)),
        Value::Nil => Err("len of nil pointer".into()),
        v => Err(format!("len of type {}", v.type_name())),
    }
}

fn index(a: &[Value]) -> Result<Value, String> {
    let mut item = a[0].clone();
    for idx in &a[1..] {
        item = match &item {
            Value::Map(m) | Value::StrMap(m) => {
                let Value::String(k) = idx else {
                    return Err(format!(
                        "value has type {}; should be string",
                        idx.type_name()
                    ));
                };
                match m.get(&*k.to_str_lossy()) {
                    Some(v) => v.clone(),
                    None if matches!(item, Value::StrMap(_)) => Value::from(""),
                    None => Value::Nil,
                }
            }
            Value::List(l) => {
                let i = index_int(idx)?;
                match usize::try_from(i).ok().and_then(|i| l.get(i)) {
                    Some(v) => v.clone(),
                    None => return Err("index out of range".into()),
                }
            }
            Value::String(s) => {
                let i = index_int(idx)?;
                match usize::try_from(i).ok().and_then(|i| s.as_bytes().get(i)) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return Err("index out of range".into()),
                }
            }
            Value::Nil => return Err("index of untyped nil".into()),
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

fn index_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) | Value::Int64(i) => Ok(*i),
        Value::Nil => Err("cannot index slice/array with nil".into()),
        v => Err(format!(
            "cannot index slice/array with type {}",
            v.type_name()
        )),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

fn eq(a: &[Value]) -> Result<Value, String> {
    let a1 = &a[0];
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a1);
    for b in &a[1..] {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            if k1 != Kind::Invalid && k2 != Kind::Invalid {
                return Err("incompatible types for comparison".into());
            }
            false
        } else {
            match (a1, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Nil, Value::Nil) => true,
                _ => {
                    return Err(format!(
                        "non-comparable types {}, {}",
                        a1.type_name(),
                        b.type_name()
                    ));
                }
            }
        };
        if truth {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn cmp(a: &[Value], pred: fn(Ordering) -> bool) -> Result<Value, String> {
    let (x, y) = (&a[0], &a[1]);
    let (k1, k2) = (basic_kind(x), basic_kind(y));
    if matches!(k1, Kind::Invalid | Kind::Other | Kind::Bool)
        || matches!(k2, Kind::Invalid | Kind::Other | Kind::Bool)
    {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    let o = match (x, y) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => return Err("invalid type for comparison".into()),
    };
    Ok(Value::Bool(pred(o)))
}

/// Go's `evalArgs`: a single string argument as is, otherwise `fmt.Sprint(args...)`; small
/// enough that escaping it (growing it up to `growth` times) stays within the string limit.
fn eval_args(budget: &Budget, a: &[Value], growth: usize) -> Result<Vec<u8>, String> {
    let limit = budget.limits().max_string_bytes / growth;
    let mut out = Vec::new();
    let r = match a {
        [Value::String(s)] => Bounded::new(&mut out, limit).push(s.as_bytes()),
        _ => super::fmt::sprint(&mut Bounded::new(&mut out, limit), a),
    };
    r.map_err(|_| budget.string_error())?;
    Ok(out)
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c if !c.is_ascii() && c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
