//! sprig list and dict functions.
//!
//! Values are immutable: `set`, `unset`, `merge` and `mergeOverwrite` return the updated
//! dict, and the executor writes it back to the variable it came from (Go mutates in place).

use super::{FuncDef, P, arg_int, arg_str, f, m, str_list, to_int64};
use crate::budget::Budget;
use crate::value::{Dict, List, Map, Value};

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
    m("uniq", &[P::Any], None, uniq),
    m("mustUniq", &[P::Any], None, uniq),
    m("without", &[P::Any], Some(P::Any), without),
    m("mustWithout", &[P::Any], Some(P::Any), without),
    m("has", &[P::Any, P::Any], None, has),
    m("mustHas", &[P::Any, P::Any], None, has),
    f("slice", &[P::Any], Some(P::Any), slice),
    f("mustSlice", &[P::Any], Some(P::Any), slice),
    m("concat", &[], Some(P::Any), concat),
    f("chunk", &[P::Int, P::Any], None, chunk),
    f("mustChunk", &[P::Int, P::Any], None, chunk),
    m("until", &[P::Int], None, |b, a| {
        let n = arg_int(a, 0);
        int_list(until_step(b, 0, n, if n < 0 { -1 } else { 1 })?)
    }),
    m("untilStep", &[P::Int, P::Int, P::Int], None, |b, a| {
        int_list(until_step(b, arg_int(a, 0), arg_int(a, 1), arg_int(a, 2))?)
    }),
    // dicts
    m("dict", &[], Some(P::Any), dict),
    f("get", &[P::Map, P::Str], None, |a| {
        Ok(map_of(&a[0])
            .get(&*arg_str(a, 1))
            .cloned()
            .unwrap_or_else(|| Value::from("")))
    }),
    f("set", &[P::Map, P::Str, P::Any], None, |a| {
        let mut m = map_of(&a[0]).clone();
        m.insert(arg_str(a, 1).into_owned(), a[2].clone());
        Ok(Value::from(m))
    }),
    f("unset", &[P::Map, P::Str], None, |a| {
        let mut m = map_of(&a[0]).clone();
        m.remove(&*arg_str(a, 1));
        Ok(Value::from(m))
    }),
    f("hasKey", &[P::Map, P::Str], None, |a| {
        Ok(Value::Bool(map_of(&a[0]).contains_key(&*arg_str(a, 1))))
    }),
    f("pluck", &[P::Str], Some(P::Map), |a| {
        let k = arg_str(a, 0);
        Ok(Value::list(
            a[1..]
                .iter()
                .filter_map(|d| map_of(d).get(&*k).cloned())
                .collect(),
        ))
    }),
    m("keys", &[], Some(P::Map), |b, a| {
        b.check_len(a.iter().map(|d| map_of(d).len() as u128).sum())?;
        Ok(str_list(a.iter().flat_map(|d| {
            map_of(d).keys().cloned().collect::<Vec<_>>()
        })))
    }),
    f("values", &[P::Map], None, |a| {
        Ok(Value::list(map_of(&a[0]).values().cloned().collect()))
    }),
    f("pick", &[P::Map], Some(P::Str), |a| {
        let m = map_of(&a[0]);
        let keys: Vec<String> = a[1..]
            .iter()
            .filter_map(Value::as_str)
            .map(|k| k.into_owned())
            .collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    }),
    f("omit", &[P::Map], Some(P::Str), |a| {
        let m = map_of(&a[0]);
        let keys: Vec<String> = a[1..]
            .iter()
            .filter_map(Value::as_str)
            .map(|k| k.into_owned())
            .collect();
        Ok(Value::from(
            m.iter()
                .filter(|(k, _)| !keys.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map>(),
        ))
    }),
    m("merge", &[P::Map], Some(P::Map), |b, a| {
        merge_all(b, a, false)
    }),
    m("mustMerge", &[P::Map], Some(P::Map), |b, a| {
        merge_all(b, a, false)
    }),
    m("mergeOverwrite", &[P::Map], Some(P::Map), |b, a| {
        merge_all(b, a, true)
    }),
    m("mustMergeOverwrite", &[P::Map], Some(P::Map), |b, a| {
        merge_all(b, a, true)
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

/// `reflect.DeepEqual`, counting every pair of elements compared as an evaluation step
/// (values share their parts, so their logical size can be far larger than their memory).
pub(crate) fn deep_eq(budget: &mut Budget, a: &Value, b: &Value) -> Result<bool, String> {
    budget.step(1)?;
    Ok(match (a, b) {
        (Value::List(x), Value::List(y)) => {
            if List::ptr_eq(x, y) {
                return Ok(true);
            }
            if x.len() != y.len() {
                return Ok(false);
            }
            for (p, q) in x.iter().zip(y.iter()) {
                if !deep_eq(budget, p, q)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Map(x), Value::Map(y)) | (Value::StrMap(x), Value::StrMap(y)) => {
            if Dict::ptr_eq(x, y) {
                return Ok(true);
            }
            if x.len() != y.len() {
                return Ok(false);
            }
            for ((kp, p), (kq, q)) in x.iter().zip(y.iter()) {
                if kp != kq || !deep_eq(budget, p, q)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::List(_) | Value::Map(_) | Value::StrMap(_), _)
        | (_, Value::List(_) | Value::Map(_) | Value::StrMap(_)) => false,
        (x, y) => x == y,
    })
}

/// Whether `list` holds a value deeply equal to `v`.
fn contains(budget: &mut Budget, list: &[Value], v: &Value) -> Result<bool, String> {
    for x in list {
        if deep_eq(budget, x, v)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn uniq(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let l = list_of(&a[0], "uniq")?;
    let mut out: Vec<Value> = Vec::new();
    for v in l.iter() {
        if !contains(budget, &out, v)? {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

fn without(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let l = list_of(&a[0], "without")?;
    let mut out = Vec::new();
    for v in l.iter() {
        if !contains(budget, &a[1..], v)? {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

fn has(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    match &a[1] {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(l) => Ok(Value::Bool(contains(budget, l, &a[0])?)),
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
        return Err("runtime error: slice bounds out of range".into());
    }
    Ok(Value::list(l[start as usize..end as usize].to_vec()))
}

fn concat(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    budget.check_len(a.iter().map(|v| v.collection_len() as u128).sum())?;
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

/// sprig's `untilStep`: `start`, `start+step`, … up to `stop` (exclusive); empty when the
/// step points away from `stop`. The length is computed first and checked against the limit.
pub(crate) fn until_step(
    budget: &Budget,
    start: i64,
    stop: i64,
    step: i64,
) -> Result<Vec<i64>, String> {
    let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
    let count = if (stop < start && step < 0) || (stop > start && step > 0) {
        (stop - start + step - step.signum()) / step
    } else {
        0
    };
    budget.check_len(count as u128)?;
    Ok((0..count).map(|k| (start + k * step) as i64).collect())
}

fn int_list(v: Vec<i64>) -> Result<Value, String> {
    Ok(Value::list(v.into_iter().map(Value::Int).collect()))
}

fn dict(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let mut m = Map::new();
    for pair in a.chunks(2) {
        let k = String::from_utf8_lossy(&super::strings::strval(budget, &pair[0])?).into_owned();
        let v = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
        m.insert(k, v);
    }
    Ok(Value::from(m))
}

/// mergo's merge of `src` into `dst`; every key visited is an evaluation step.
fn merge_into(
    budget: &mut Budget,
    dst: &mut Map,
    src: &Map,
    overwrite: bool,
) -> Result<(), String> {
    for (k, sv) in src {
        budget.step(1)?;
        match dst.get_mut(k) {
            None => {
                dst.insert(k.clone(), sv.clone());
            }
            Some(dv) => {
                if let (Value::Map(dm), Value::Map(sm)) = (&*dv, sv) {
                    // Copying a map costs more than visiting a key, and allocates: a merge of
                    // maps that share their parts copies every path through them.
                    budget.step(8 + dm.len() as u64)?;
                    budget.allocate(crate::budget::map_bytes(
                        dm.len(),
                        dm.keys().map(String::len).sum(),
                    ))?;
                    let mut merged = (**dm).clone();
                    merge_into(budget, &mut merged, sm, overwrite)?;
                    *dv = Value::from(merged);
                } else if (overwrite && !empty(sv)) || (!overwrite && empty(dv)) {
                    *dv = sv.clone();
                }
            }
        }
    }
    Ok(())
}

fn merge_all(budget: &mut Budget, a: &[Value], overwrite: bool) -> Result<Value, String> {
    let mut dst = map_of(&a[0]).clone();
    for src in &a[1..] {
        merge_into(budget, &mut dst, map_of(src), overwrite)?;
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
    let mut cur: Dict = dict;
    for (i, k) in keys.iter().enumerate() {
        let Value::String(k) = k else {
            return Err(format!("dig: keys must be strings, got {}", k.type_name()));
        };
        let Some(step) = cur.get(&*k.to_str_lossy()).cloned() else {
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
