//! sprig "defaults" functions: default, empty, coalesce, all, any, ternary, fail, JSON.

use secretsync_gojson as gojson;

use super::decode::{Counter, ValueSeed};
use super::{FuncDef, P, arg_bytes, arg_str, f, m};
use crate::budget::Budget;
use crate::value::Value;

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
    m("toJson", &[P::Any], None, |b, a| {
        Ok(Value::from(
            to_json(b, &a[0], true, false)?.unwrap_or_default(),
        ))
    }),
    m("mustToJson", &[P::Any], None, |b, a| {
        to_json(b, &a[0], true, false)?.map(Value::from)
    }),
    m("toPrettyJson", &[P::Any], None, |b, a| {
        Ok(Value::from(
            to_json(b, &a[0], true, true)?.unwrap_or_default(),
        ))
    }),
    m("mustToPrettyJson", &[P::Any], None, |b, a| {
        to_json(b, &a[0], true, true)?.map(Value::from)
    }),
    m("toRawJson", &[P::Any], None, |b, a| {
        Ok(Value::from(
            to_json(b, &a[0], false, false)?.unwrap_or_default(),
        ))
    }),
    m("mustToRawJson", &[P::Any], None, |b, a| {
        to_json(b, &a[0], false, false)?.map(Value::from)
    }),
    m("fromJson", &[P::Str], None, |b, a| {
        Ok(from_json(b, arg_bytes(a, 0))?.unwrap_or_default())
    }),
    m("mustFromJson", &[P::Str], None, |b, a| {
        from_json(b, arg_bytes(a, 0))?
    }),
];

/// Go `encoding/json` marshalling (sorted map keys, HTML escaping optional,
/// `MarshalIndent(v, "", "  ")` when pretty), within the string limit. The outer `Err` is
/// the size limit, the inner one Go's own encoding error.
pub(crate) fn to_json(
    budget: &Budget,
    v: &Value,
    escape_html: bool,
    pretty: bool,
) -> Result<Result<Vec<u8>, String>, String> {
    let mut out = Vec::new();
    let limit = budget.limits().max_string_bytes;
    let options = gojson::Options {
        escape_html,
        pretty,
    };
    match write_json(&mut gojson::Encoder::new(&mut out, options, limit), v) {
        Ok(()) => Ok(Ok(out)),
        Err(gojson::Error::TooLarge) => Err(budget.string_error()),
        Err(e) => Ok(Err(e.to_string())),
    }
}

fn write_json(enc: &mut gojson::Encoder<'_>, v: &Value) -> Result<(), gojson::Error> {
    match v {
        Value::Nil => enc.null(),
        Value::Bool(b) => enc.bool(*b),
        Value::Int(i) | Value::Int64(i) => enc.int(*i),
        Value::Float(f) => enc.float(*f),
        Value::String(s) => enc.string(s.as_bytes()),
        // time.Time.MarshalJSON: RFC 3339 with nanoseconds
        Value::Time(t) => {
            enc.string(crate::gotime::format(t, "2006-01-02T15:04:05.999999999Z07:00").as_bytes())
        }
        Value::List(l) => {
            enc.begin_array()?;
            for e in l.iter() {
                enc.element()?;
                write_json(enc, e)?;
            }
            enc.end_array()
        }
        Value::Map(m) | Value::StrMap(m) => {
            enc.begin_object()?;
            for (k, e) in m.iter() {
                enc.key(k.as_bytes())?;
                write_json(enc, e)?;
            }
            enc.end_object()
        }
    }
}

/// Go `json.Unmarshal` into `interface{}`: numbers become float64. The outer `Err` is a
/// render limit; the inner one Go's decoding error (which `fromJson` turns into "").
pub(crate) fn from_json(budget: &mut Budget, s: &[u8]) -> Result<Result<Value, String>, String> {
    let counter = Counter::new(budget);
    let mut de = serde_json::Deserializer::from_slice(s);
    let parsed = serde::de::DeserializeSeed::deserialize(ValueSeed { counter: &counter }, &mut de)
        .and_then(|v| de.end().map(|()| v));
    if let Some(limit) = counter.finish(budget) {
        return Err(limit);
    }
    Ok(parsed.map_err(|e| {
        format!(
            "invalid JSON at line {} column {}: {}",
            e.line(),
            e.column(),
            json_error_class(&e)
        )
    }))
}

fn json_error_class(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end of JSON input",
    }
}
