//! sprig list and dict functions.
//!
//! Difference from Go: values are immutable, so `set`, `unset`, `merge` and
//! `mergeOverwrite` return the updated dict but do not modify the dict a variable holds.

use std::sync::Arc;

use super::{FuncDef, P, arg_int, arg_str, f, str_list, to_int64};
use crate::value::{Map, Value};

pub(crate) const FUNCS: &[FuncDef] = &[
    f("list", &[], Some(P::Any), |a| Ok(Value::list(a.to_vec()))),
    f("tuple", &[], Some(P::Any), |a| Ok(Value::list(a.to_vec()))),
    f("append", &[P::Any, P::Any], None, |a| push(a, "push")),
    f("push", &[P::Any, P::Any], None, |a| push(a, "push")),
    f("mustAppend", &[P::Any, P::Any], None, |a| push(a, "push")),
    f("mustPush", &[P::Any, P::Any], None, |a| push(a, "push")),
    f("prepend", &[P::Any, P::Any], None, prepend),
    f("mustPrepend", &[P::Any, P::Any], None, prepend),
    f("first", &[P::Any], None, |a| {
        pick_elem(a, "first", |l| l.first().cloned())
    }),
    f("mustFirst", &[P::Any], None, |a| {
        pick_elem(a, "first", |l| l.first().cloned())
    }),
    f("last", &[P::Any], None, |a| {
        pick_elem(a, "last", |l| l.last().cloned())
    }),
    f("mustLast", &[P::Any], None, |a| {
        pick_elem(a, "last", |l| l.last().cloned())
    }),
    f("rest", &[P::Any], None, |a| {
        sub_list(a, "rest", |l| {
            if l.is_empty() {
                None
            } else {
                Some(l[1..].to_vec())
            }
        })
    }),
    f("mustRest", &[P::Any], None, |a| {
        sub_list(a, "rest", |l| {
            if l.is_empty() {
                None
            } else {
                Some(l[1..].to_vec())
            }
        })
    }),
    f("initial", &[P::Any], None, |a| {
        sub_list(a, "initial", |l| {
            if l.is_empty() {
                None
            } else {
                Some(l[..l.len() - 1].to_vec())
            }
        })
    }),
    f("mustInitial", &[P::Any], None, |a| {
        sub_list(a, "initial", |l| {
            if l.is_empty() {
                None
            } else {
                Some(l[..l.len() - 1].to_vec())
            }
        })
    }),
    f("reverse", &[P::Any], None, |a| {
        sub_list(a, "reverse", |l| Some(l.iter().rev().cloned().collect()))
    }),
    f("mustReverse", &[P::Any], None, |a| {
        sub_list(a, "reverse", |l| Some(l.iter().rev().cloned().collect()))
    }),
    f("compact", &[P::Any], None, |a| {
        sub_list(a, "compact", |l| {
            Some(l.iter().filter(|v| !empty(v)).cloned().collect())
        })
    }),
    f("mustCompact", &[P::Any], None, |a| {
        sub_list(a, "compact", |l| {
            Some(l.iter().filter(|v| !empty(v)).cloned().collect())
        })
    }),
    f("uniq", &[P::Any], None, |a| {
        sub_list(a, "uniq", |l| Some(uniq(l)))
    }),
    f("mustUniq", &[P::Any], None, |a| {
        sub_list(a, "uniq", |l| Some(uniq(l)))
    }),
    f("without", &[P::Any], Some(P::Any), without),
    f("mustWithout", &[P::Any], Some(P::Any), without),
    f("has", &[P::Any, P::Any], None, has),
    f("mustHas", &[P::Any, P::Any], None, has),
    f("slice", &[P::Any], Some(P::Any), slice),
    f("mustSlice", &[P::Any], Some(P::Any), slice),
    f("concat", &[], Some(P::Any), concat),
    f("chunk", &[P::Int, P::Any], None, chunk),
    f("mustChunk", &[P::Int, P::Any], None, chunk),
    f("until", &[P::Int], None, |a| {
        until_step(0, arg_int(a, 0), if arg_int(a, 0) < 0 { -1 } else { 1 })
    }),
    f("untilStep", &[P::Int, P::Int, P::Int], None, |a| {
        until_step(arg_int(a, 0), arg_int(a, 1), arg_int(a, 2))
    }),
    // dicts
    f("dict", &[], Some(P::Any), dict),
    f("get", &[P::Map, P::Str], None, |a| {
        Ok(map_of(&a[0])
            .get(arg_str(a, 1))
            .cloned()
            .unwrap_or_else(|| Value::from("")))
    }),
    f("set", &[P::Map, P::Str, P::Any], None, |a| {
        let mut m = map_of(&a[0]).clone();
        m.insert(arg_str(a, 1).to_string(), a[2].clone());
        Ok(Value::from(m))
    }),
    f("unset", &[P::Map, P::Str], None, |a| {
        let mut m = map_of(&a[0]).clone();
        m.remove(arg_str(a, 1));
        Ok(Value::from(m))
    }),
    f("hasKey", &[P::Map, P::Str], None, |a| {
        Ok(Value::Bool(map_of(&a[0]).contains_key(arg_str(a, 1))))
    }),
    f("pluck", &[P::Str], Some(P::Map), |a| {
        let k = arg_str(a, 0);
        Ok(Value::list(
            a[1..]
                .iter()
                .filter_map(|d| map_of(d).get(k).cloned())
                .collect(),
        ))
    }),
    f("keys", &[], Some(P::Map), |a| {
        Ok(str_list(a.iter().flat_map(|d| {
            map_of(d).keys().cloned().collect::<Vec<_>>()
        })))
    }),
    f("values", &[P::Map], None, |a| {
        Ok(Value::list(map_of(&a[0]).values().cloned().collect()))
    }),
    f("pick", &[P::Map], Some(P::Str), |a| {
        let m = map_of(&a[0]);
        let keys: Vec<&str> = a[1..].iter().filter_map(Value::as_str).collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    }),
    f("omit", &[P::Map], Some(P::Str), |a| {
        let m = map_of(&a[0]);
        let keys: Vec<&str> = a[1..].iter().filter_map(Value::as_str).collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    }),
    f("merge", &[P::Map], Some(P::Map), |a| merge_all(a, false)),
    f("mustMerge", &[P::Map], Some(P::Map), |a| {
        merge_all(a, false)
    }),
    f("mergeOverwrite", &[P::Map], Some(P::Map), |a| {
        merge_all(a, true)
    }),
    f("mustMergeOverwrite", &[P::Map], Some(P::Map), |a| {
        merge_all(a, true)
    }),
    f("deepCopy", &[P::Any], None, |a| Ok(a[0].clone())),
    f("mustDeepCopy", &[P::Any], None, |a| Ok(a[0].clone())),
    f("dig", &[], Some(P::Any), dig),
];

static EMPTY_MAP: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);

fn map_of(v: &Value) -> &Map {
    v.as_map().unwrap_or(&EMPTY_MAP)
}

/// sprig's `empty`.
pub(crate) fn empty(v: &Value) -> bool {
    !v.truthy()
}

fn list_of<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], String> {
    match v {
        Value::List(l) => Ok(l),
        Value::Nil => Err(format!("Cannot find {what} on type <nil>")),
        v => Err(format!("Cannot find {what} on type {}", v.kind_name())),
    }
}

fn push(a: &[Value], what: &str) -> Result<Value, String> {
    let l =
        list_of(&a[0], what).map_err(|_| format!("Cannot {what} on type {}", a[0].kind_name()))?;
    let mut v = l.to_vec();
    v.push(a[1].clone());
    Ok(Value::list(v))
}

fn prepend(a: &[Value]) -> Result<Value, String> {
    let l = list_of(&a[0], "prepend")
        .map_err(|_| format!("Cannot prepend on type {}", a[0].kind_name()))?;
    let mut v = vec![a[1].clone()];
    v.extend(l.iter().cloned());
    Ok(Value::list(v))
}

fn pick_elem(
    a: &[Value],
    what: &str,
    pick: fn(&[Value]) -> Option<Value>,
) -> Result<Value, String> {
    let l = list_of(&a[0], what)?;
    Ok(pick(l).unwrap_or_default())
}

fn sub_list(
    a: &[Value],
    what: &str,
    op: impl Fn(&[Value]) -> Option<Vec<Value>>,
) -> Result<Value, String> {
    let l = list_of(&a[0], what)?;
    Ok(op(l).map(Value::list).unwrap_or_default())
}

fn uniq(l: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn without(a: &[Value]) -> Result<Value, String> {
    let l = list_of(&a[0], "without")?;
    Ok(Value::list(
        l.iter().filter(|v| !a[1..].contains(v)).cloned().collect(),
    ))
}

fn has(a: &[Value]) -> Result<Value, String> {
    match &a[1] {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(l) => Ok(Value::Bool(l.contains(&a[0]))),
        v => Err(format!("Cannot find has on type {}", v.kind_name())),
    }
}

fn slice(a: &[Value]) -> Result<Value, String> {
    let l = match &a[0] {
        Value::List(l) => l,
        v => {
            return Err(format!(
                "list should be type of slice or array but {}",
                v.kind_name()
            ));
        }
    };
    let idx: Vec<i64> = a[1..].iter().map(to_int64).collect();
    let len = l.len() as i64;
    let (start, end) = match idx.as_slice() {
        [] => (0, len),
        [s] => (*s, len),
        [s, e, ..] => (*s, *e),
    };
    if start < 0 || end < start || end > len {
        return Err(format!(
            "runtime error: slice bounds out of range [{start}:{end}] with capacity {len}"
        ));
    }
    Ok(Value::list(l[start as usize..end as usize].to_vec()))
}

fn concat(a: &[Value]) -> Result<Value, String> {
    let mut out = Vec::new();
    for v in a {
        match v {
            Value::List(l) => out.extend(l.iter().cloned()),
            v => return Err(format!("Cannot concat type {} as list", v.kind_name())),
        }
    }
    Ok(Value::list(out))
}

fn chunk(a: &[Value]) -> Result<Value, String> {
    let size = arg_int(a, 0);
    let l =
        list_of(&a[1], "chunk").map_err(|_| format!("Cannot chunk type {}", a[1].kind_name()))?;
    if size <= 0 {
        return Err("runtime error: integer divide by zero".into());
    }
    Ok(Value::list(
        l.chunks(size as usize)
            .map(|c| Value::list(c.to_vec()))
            .collect(),
    ))
}

const MAX_RANGE: i64 = 10_000_000;

fn until_step(start: i64, stop: i64, step: i64) -> Result<Value, String> {
    let mut v = Vec::new();
    if step == 0 {
        return Ok(Value::list(v));
    }
    let count = ((stop - start) / step).max(0);
    if count > MAX_RANGE {
        return Err(format!("sequence longer than {MAX_RANGE} elements"));
    }
    let mut i = start;
    if step > 0 {
        while i < stop {
            v.push(Value::Int(i));
            i += step;
        }
    } else {
        while i > stop {
            v.push(Value::Int(i));
            i += step;
        }
    }
    Ok(Value::list(v))
}

fn dict(a: &[Value]) -> Result<Value, String> {
    let mut m = Map::new();
    for pair in a.chunks(2) {
        let k = super::strings::strval(&pair[0]);
        let v = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
        m.insert(k, v);
    }
    Ok(Value::from(m))
}

fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    for (k, sv) in src {
        match dst.get_mut(k) {
            None => {
                dst.insert(k.clone(), sv.clone());
            }
            Some(dv) => {
                if let (Value::Map(dm), Value::Map(sm)) = (&*dv, sv) {
                    let mut merged = (**dm).clone();
                    merge_into(&mut merged, sm, overwrite);
                    *dv = Value::Map(Arc::new(merged));
                } else if (overwrite && !empty(sv)) || (!overwrite && empty(dv)) {
                    *dv = sv.clone();
                }
            }
        }
    }
}

fn merge_all(a: &[Value], overwrite: bool) -> Result<Value, String> {
    let mut dst = map_of(&a[0]).clone();
    for src in &a[1..] {
        merge_into(&mut dst, map_of(src), overwrite);
    }
    Ok(Value::from(dst))
}

fn dig(a: &[Value]) -> Result<Value, String> {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let dict = match &a[a.len() - 1] {
        Value::Map(m) => m.clone(),
        v => {
            return Err(format!(
                "dig: last argument must be map[string]interface {{}}, got {}",
                v.type_name()
            ));
        }
    };
    let default = a[a.len() - 2].clone();
    let keys = &a[..a.len() - 2];
    let mut cur: Arc<Map> = dict;
    for (i, k) in keys.iter().enumerate() {
        let Value::String(k) = k else {
            return Err(format!("dig: keys must be strings, got {}", k.type_name()));
        };
        let Some(step) = cur.get(k.as_str()).cloned() else {
            return Ok(default);
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        match step {
            Value::Map(m) => cur = m,
            v => {
                return Err(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    v.type_name()
                ));
            }
        }
    }
    Ok(default)
}
