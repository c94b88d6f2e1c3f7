//! sprig "defaults" functions: default, empty, coalesce, all, any, ternary, fail, JSON.

use std::fmt::Write as _;

use super::{FuncDef, P, arg_str, f};
use crate::value::{Map, Value, format_float_json};

pub(crate) const FUNCS: &[FuncDef] = &[
    f("default", &[P::Any], Some(P::Any), |a| {
        Ok(match a.get(1) {
            Some(g) if g.truthy() => g.clone(),
            _ => a[0].clone(),
        })
    }),
    f("empty", &[P::Any], None, |a| {
        Ok(Value::Bool(!a[0].truthy()))
    }),
    f("coalesce", &[], Some(P::Any), |a| {
        Ok(a.iter().find(|v| v.truthy()).cloned().unwrap_or_default())
    }),
    f("all", &[], Some(P::Any), |a| {
        Ok(Value::Bool(a.iter().all(Value::truthy)))
    }),
    f("any", &[], Some(P::Any), |a| {
        Ok(Value::Bool(a.iter().any(Value::truthy)))
    }),
    f("ternary", &[P::Any, P::Any, P::Bool], None, |a| {
        Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    }),
    f("fail", &[P::Str], None, |a| Err(arg_str(a, 0).into_owned())),
    f("toJson", &[P::Any], None, |a| {
        Ok(Value::from(to_json(&a[0], true, false).unwrap_or_default()))
    }),
    f("mustToJson", &[P::Any], None, |a| {
        to_json(&a[0], true, false).map(Value::from)
    }),
    f("toPrettyJson", &[P::Any], None, |a| {
        Ok(Value::from(to_json(&a[0], true, true).unwrap_or_default()))
    }),
    f("mustToPrettyJson", &[P::Any], None, |a| {
        to_json(&a[0], true, true).map(Value::from)
    }),
    f("toRawJson", &[P::Any], None, |a| {
        Ok(Value::from(
            to_json(&a[0], false, false).unwrap_or_default(),
        ))
    }),
    f("mustToRawJson", &[P::Any], None, |a| {
        to_json(&a[0], false, false).map(Value::from)
    }),
    f("fromJson", &[P::Str], None, |a| {
        Ok(from_json(&arg_str(a, 0)).unwrap_or_default())
    }),
    f("mustFromJson", &[P::Str], None, |a| {
        from_json(&arg_str(a, 0))
    }),
];

/// Go `encoding/json` marshalling (sorted map keys, HTML escaping optional,
/// `MarshalIndent(v, "", "  ")` when pretty).
pub(crate) fn to_json(v: &Value, escape_html: bool, pretty: bool) -> Result<String, String> {
    let mut out = String::new();
    write_json(&mut out, v, escape_html, pretty.then_some(0))?;
    Ok(out)
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push('\n');
        for _ in 0..n {
            out.push_str("  ");
        }
    }
}

fn write_json(
    out: &mut String,
    v: &Value,
    html: bool,
    indent: Option<usize>,
) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err("json: unsupported value: non-finite float".into());
            }
            out.push_str(&format_float_json(*f));
        }
        Value::String(s) => json_string(out, &s.to_str_lossy(), html),
        // time.Time.MarshalJSON: RFC 3339 with nanoseconds
        Value::Time(t) => json_string(
            out,
            &crate::gotime::format(t, "2006-01-02T15:04:05.999999999Z07:00"),
            html,
        ),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|n| n + 1));
                write_json(out, e, html, indent.map(|n| n + 1))?;
            }
            newline(out, indent);
            out.push(']');
        }
        Value::Map(m) | Value::StrMap(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent.map(|n| n + 1));
                json_string(out, k, html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, e, html, indent.map(|n| n + 1))?;
            }
            newline(out, indent);
            out.push('}');
        }
    }
    Ok(())
}

/// Go's JSON string encoding.
pub(crate) fn json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go `json.Unmarshal` into `interface{}`: numbers become float64.
pub(crate) fn from_json(s: &str) -> Result<Value, String> {
    let v: serde_json::Value = serde_json::from_str(s).map_err(|e| {
        format!(
            "invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            json_error_class(&e)
        )
    })?;
    Ok(json_to_value(v))
}

fn json_error_class(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end of JSON input",
    }
}

pub(crate) fn json_to_value(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::from(s),
        serde_json::Value::Array(a) => Value::list(a.into_iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::from(
            o.into_iter()
                .map(|(k, v)| (k, json_to_value(v)))
                .collect::<Map>(),
        ),
    }
}
