//! sprig string functions and path functions.

use rand::Rng;
use rand::seq::SliceRandom;

use super::bytes::{find, replace_all, split_n};
use super::{FuncDef, P, arg_bytes, arg_int, arg_str, f, m, str_list};
use crate::budget::{Bounded, Budget};
use crate::value::{Dict, Map, Value};

const S: &[P] = &[P::Str];
const SS: &[P] = &[P::Str, P::Str];
const SSS: &[P] = &[P::Str, P::Str, P::Str];

fn s(v: impl Into<String>) -> Result<Value, String> {
    Ok(Value::from(v.into()))
}

pub(crate) const FUNCS: &[FuncDef] = &[
    f("hello", &[], None, |_| s("Hello!")),
    f("trim", S, None, |a| s(arg_str(a, 0).trim())),
    f("upper", S, None, |a| {
        s(map_chars(&arg_str(a, 0), |c| single(c.to_uppercase(), c)))
    }),
    // Go maps case rune by rune (simple case mapping): U+0130 lowercases to 'i'.
    f("lower", S, None, |a| {
        s(map_chars(&arg_str(a, 0), |c| {
            c.to_lowercase().next().unwrap_or(c)
        }))
    }),
    f("title", S, None, |a| s(title(&arg_str(a, 0)))),
    f("untitle", S, None, |a| s(untitle(&arg_str(a, 0)))),
    f("substr", &[P::Int, P::Int, P::Str], None, substr),
    m("repeat", &[P::Int, P::Str], None, repeat),
    f("trimall", SS, None, |a| {
        s(go_trim(&arg_str(a, 1), &arg_str(a, 0)))
    }),
    f("trimAll", SS, None, |a| {
        s(go_trim(&arg_str(a, 1), &arg_str(a, 0)))
    }),
    f("trimSuffix", SS, None, |a| {
        b(arg_bytes(a, 1)
            .strip_suffix(arg_bytes(a, 0))
            .unwrap_or(arg_bytes(a, 1)))
    }),
    f("trimPrefix", SS, None, |a| {
        b(arg_bytes(a, 1)
            .strip_prefix(arg_bytes(a, 0))
            .unwrap_or(arg_bytes(a, 1)))
    }),
    f("nospace", S, None, |a| b(nospace(arg_bytes(a, 0)))),
    f("initials", S, None, |a| s(initials(arg_bytes(a, 0)))),
    m("randAlphaNum", &[P::Int], None, |b, a| {
        rand_from(
            b,
            a,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )
    }),
    m("randAlpha", &[P::Int], None, |b, a| {
        rand_from(
            b,
            a,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        )
    }),
    m("randNumeric", &[P::Int], None, |b, a| {
        rand_from(b, a, b"0123456789")
    }),
    m("randAscii", &[P::Int], None, |b, a| {
        let printable: Vec<u8> = (32u8..=126).collect();
        rand_from(b, a, &printable)
    }),
    f("swapcase", S, None, |a| s(swapcase(&arg_str(a, 0)))),
    f("shuffle", S, None, |a| {
        let mut chars: Vec<char> = arg_str(a, 0).chars().collect();
        chars.shuffle(&mut rand::rng());
        s(chars.into_iter().collect::<String>())
    }),
    f("contains", SS, None, |a| {
        Ok(Value::Bool(
            find(arg_bytes(a, 1), arg_bytes(a, 0)).is_some(),
        ))
    }),
    f("hasPrefix", SS, None, |a| {
        Ok(Value::Bool(arg_bytes(a, 1).starts_with(arg_bytes(a, 0))))
    }),
    f("hasSuffix", SS, None, |a| {
        Ok(Value::Bool(arg_bytes(a, 1).ends_with(arg_bytes(a, 0))))
    }),
    m("quote", &[], Some(P::Any), quote),
    m("squote", &[], Some(P::Any), squote),
    m("cat", &[], Some(P::Any), cat),
    m("indent", &[P::Int, P::Str], None, |bu, a| {
        b(indent(bu, arg_int(a, 0), arg_bytes(a, 1), false)?)
    }),
    m("nindent", &[P::Int, P::Str], None, |bu, a| {
        b(indent(bu, arg_int(a, 0), arg_bytes(a, 1), true)?)
    }),
    m("replace", SSS, None, |bu, a| {
        let (s, old, new) = (arg_bytes(a, 2), arg_bytes(a, 0), arg_bytes(a, 1));
        bu.check_string(replaced_len(s, old, new))?;
        b(replace_all(s, old, new))
    }),
    f("plural", &[P::Str, P::Str, P::Int], None, |a| {
        b(if arg_int(a, 2) == 1 {
            arg_bytes(a, 0)
        } else {
            arg_bytes(a, 1)
        })
    }),
    m("toString", &[P::Any], None, |bu, a| b(strval(bu, &a[0])?)),
    m("split", SS, None, |bu, a| {
        let (s, sep) = (arg_bytes(a, 1), arg_bytes(a, 0));
        bu.check_len(split_count(s, sep, -1))?;
        Ok(split_map(split_n(s, sep, -1)))
    }),
    m("splitList", SS, None, |bu, a| {
        let (s, sep) = (arg_bytes(a, 1), arg_bytes(a, 0));
        bu.check_len(split_count(s, sep, -1))?;
        Ok(str_list(split_n(s, sep, -1)))
    }),
    m("splitn", &[P::Str, P::Int, P::Str], None, |bu, a| {
        let (s, sep, n) = (arg_bytes(a, 2), arg_bytes(a, 0), arg_int(a, 1));
        bu.check_len(split_count(s, sep, n))?;
        Ok(split_map(split_n(s, sep, n)))
    }),
    m("toStrings", &[P::Any], None, |bu, a| {
        Ok(str_list(strslice(bu, &a[0])?))
    }),
    m("join", &[P::Str, P::Any], None, |bu, a| {
        let parts = strslice(bu, &a[1])?;
        let sep = arg_bytes(a, 0);
        let total: u128 = parts.iter().map(|p| p.len() as u128).sum::<u128>()
            + (sep.len() as u128) * (parts.len().saturating_sub(1) as u128);
        bu.check_string(total)?;
        b(parts.join(sep))
    }),
    m("sortAlpha", &[P::Any], None, sort_alpha),
    f("abbrev", &[P::Int, P::Str], None, abbrev),
    f("trunc", &[P::Int, P::Str], None, trunc),
    // path
    f("base", S, None, |a| s(path_base(&arg_str(a, 0)))),
    f("dir", S, None, |a| s(path_dir(&arg_str(a, 0)))),
    f("clean", S, None, |a| s(path_clean(&arg_str(a, 0)))),
    f("ext", S, None, |a| s(path_ext(&arg_str(a, 0)))),
    f("isAbs", S, None, |a| {
        Ok(Value::Bool(arg_bytes(a, 0).starts_with(b"/")))
    }),
    f("osBase", S, None, |a| s(path_base(&arg_str(a, 0)))),
    f("osDir", S, None, |a| s(path_dir(&arg_str(a, 0)))),
    f("osClean", S, None, |a| s(path_clean(&arg_str(a, 0)))),
    f("osExt", S, None, |a| s(path_ext(&arg_str(a, 0)))),
    f("osIsAbs", S, None, |a| {
        Ok(Value::Bool(arg_bytes(a, 0).starts_with(b"/")))
    }),
];

fn b(v: impl Into<Vec<u8>>) -> Result<Value, String> {
    Ok(Value::from(v.into()))
}

fn single(mut it: impl Iterator<Item = char>, orig: char) -> char {
    match (it.next(), it.next()) {
        (Some(c), None) => c,
        _ => orig,
    }
}

fn map_chars(s: &str, f: impl Fn(char) -> char) -> String {
    s.chars().map(f).collect()
}

/// Go's `fmt.Sprintf("%v")`-based `strval`, within the string limit.
pub(crate) fn strval(budget: &Budget, v: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    v.write_go(&mut budget.writer(&mut out))
        .map_err(|_| budget.string_error())?;
    Ok(out)
}

/// sprig's `strslice`: list → strings of non-nil elements; nil → []; scalar → [strval].
/// All the strings together stay within the string limit.
pub(crate) fn strslice(budget: &Budget, v: &Value) -> Result<Vec<Vec<u8>>, String> {
    let items: Vec<&Value> = match v {
        Value::List(l) => l.iter().filter(|x| !matches!(x, Value::Nil)).collect(),
        Value::Nil => Vec::new(),
        v => vec![v],
    };
    let mut left = budget.limits().max_string_bytes;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut s = Vec::new();
        item.write_go(&mut Bounded::new(&mut s, left))
            .map_err(|_| budget.string_error())?;
        left -= s.len();
        out.push(s);
    }
    Ok(out)
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go's deprecated `strings.Title`.
fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) {
                single(c.to_uppercase(), c)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

fn untitle(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                single(c.to_lowercase(), c)
            } else {
                c
            }
        })
        .collect()
}

fn swapcase(s: &str) -> String {
    let mut ws = true;
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                ws = false;
                single(c.to_lowercase(), c)
            } else if c.is_lowercase() {
                let u = single(c.to_uppercase(), c);
                ws = false;
                u
            } else {
                ws = c.is_whitespace();
                c
            }
        })
        .collect()
}

/// goutils' byte-wise helpers treat each byte as a Latin-1 rune.
fn latin1(b: u8) -> char {
    char::from(b)
}

fn nospace(s: &[u8]) -> Vec<u8> {
    if s.iter().all(|b| !latin1(*b).is_whitespace()) {
        return s.to_vec();
    }
    s.iter()
        .map(|b| latin1(*b))
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .into_bytes()
}

fn initials(s: &[u8]) -> String {
    let mut gap = true;
    let mut out = String::new();
    for c in s.iter().map(|b| latin1(*b)) {
        if c.is_whitespace() {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

fn go_trim<'a>(s: &'a str, cutset: &str) -> &'a str {
    s.trim_matches(|c| cutset.contains(c))
}

fn bytes_to_string(b: &[u8]) -> Vec<u8> {
    b.to_vec()
}

fn substr(a: &[Value]) -> Result<Value, String> {
    let (start, end, st) = (arg_int(a, 0), arg_int(a, 1), arg_bytes(a, 2));
    let len = st.len() as i64;
    let oob = || "runtime error: slice bounds out of range".to_string();
    let r = if start < 0 {
        if end < 0 || end > len {
            return Err(oob());
        }
        &st[..end as usize]
    } else if end < 0 || end > len {
        if start > len {
            return Err(oob());
        }
        &st[start as usize..]
    } else {
        if start > end {
            return Err(oob());
        }
        &st[start as usize..end as usize]
    };
    Ok(Value::from(bytes_to_string(r)))
}

fn trunc(a: &[Value]) -> Result<Value, String> {
    let (c, st) = (arg_int(a, 0), arg_bytes(a, 1));
    let len = st.len() as i64;
    if c < 0 && len + c > 0 {
        return Ok(Value::from(&st[(len + c) as usize..]));
    }
    if c >= 0 && len > c {
        return Ok(Value::from(&st[..c as usize]));
    }
    Ok(Value::from(st))
}

fn abbrev(a: &[Value]) -> Result<Value, String> {
    let (w, st) = (arg_int(a, 0), arg_bytes(a, 1));
    if w < 4 || st.len() as i64 <= w {
        return Ok(Value::from(st));
    }
    let mut out = st[..(w - 3) as usize].to_vec();
    out.extend_from_slice(b"...");
    Ok(Value::from(out))
}

fn repeat(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let (n, st) = (arg_int(a, 0), arg_bytes(a, 1));
    let Ok(n) = usize::try_from(n) else {
        return Err("strings: negative Repeat count".into());
    };
    budget.check_string(n as u128 * st.len() as u128)?;
    Ok(Value::from(st.repeat(n)))
}

fn rand_from(budget: &mut Budget, a: &[Value], alphabet: &[u8]) -> Result<Value, String> {
    let n = arg_int(a, 0);
    if n < 0 {
        return Err("count must be non-negative".into());
    }
    budget.check_string(n as u128)?;
    let mut rng = rand::rng();
    let out: String = (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect();
    Ok(Value::from(out))
}

fn quote(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    // Quoting grows a string at most tenfold (`\U0010ffff` for a 4-byte rune).
    let mut out = Vec::new();
    for (i, v) in a.iter().filter(|v| !matches!(v, Value::Nil)).enumerate() {
        let s = strval(budget, v)?;
        budget.check_string((out.len() + s.len() * 10 + 3) as u128)?;
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(super::fmt::go_quote(&s).as_bytes());
    }
    Ok(Value::from(out))
}

fn squote(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    super::fmt::printed(budget, |out| {
        for (i, v) in a.iter().filter(|v| !matches!(v, Value::Nil)).enumerate() {
            out.push(if i > 0 { b" '" } else { b"'" })?;
            v.write_go(out)?;
            out.push(b"'")?;
        }
        Ok(())
    })
}

fn cat(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    super::fmt::printed(budget, |out| {
        for (i, v) in a.iter().filter(|v| !matches!(v, Value::Nil)).enumerate() {
            if i > 0 {
                out.push(b" ")?;
            }
            v.write_go(out)?;
        }
        Ok(())
    })
}

/// sprig's `indent`/`nindent`: `n` spaces before every line (a negative count is none).
fn indent(budget: &Budget, n: i64, v: &[u8], leading_newline: bool) -> Result<Vec<u8>, String> {
    let n = u128::try_from(n).unwrap_or(0);
    let lines = memchr::memchr_iter(b'\n', v).count() as u128 + 1;
    budget.check_string(v.len() as u128 + lines * n + u128::from(leading_newline))?;
    let pad = vec![b' '; n as usize];
    let mut nl_pad = vec![b'\n'];
    nl_pad.extend_from_slice(&pad);
    let mut out = Vec::new();
    if leading_newline {
        out.push(b'\n');
    }
    out.extend_from_slice(&pad);
    out.extend(replace_all(v, b"\n", &nl_pad));
    Ok(out)
}

/// Length of `strings.Replace(s, old, new, -1)`, computed without building it.
fn replaced_len(s: &[u8], old: &[u8], new: &[u8]) -> u128 {
    let count = if old.is_empty() {
        // Go inserts `new` before every rune and at the end.
        s.utf8_chunks()
            .map(|c| c.valid().chars().count() + c.invalid().len())
            .sum::<usize>()
            + 1
    } else {
        memchr::memmem::find_iter(s, old).count()
    } as u128;
    s.len() as u128 - count.min(s.len() as u128) * old.len() as u128 + count * new.len() as u128
}

/// How many parts `strings.SplitN(s, sep, n)` produces, computed without building them.
fn split_count(s: &[u8], sep: &[u8], n: i64) -> u128 {
    let all = if sep.is_empty() {
        s.utf8_chunks()
            .map(|c| c.valid().chars().count() + c.invalid().len())
            .sum::<usize>()
    } else {
        memchr::memmem::find_iter(s, sep).count() + 1
    } as u128;
    match u128::try_from(n) {
        Ok(0) => 0,
        Ok(n) => all.min(n),
        Err(_) => all,
    }
}

fn split_map(parts: Vec<Vec<u8>>) -> Value {
    let m: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    Value::StrMap(Dict::new(m))
}

fn sort_alpha(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    match &a[0] {
        Value::List(_) => {
            let mut v = strslice(budget, &a[0])?;
            v.sort();
            Ok(str_list(v))
        }
        v => Ok(str_list(vec![strval(budget, v)?])),
    }
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}
