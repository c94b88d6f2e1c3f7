//! sprig regex functions. Go's RE2 syntax is what Rust's `regex` crate implements.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

use super::{FuncDef, P, arg_int, arg_str, f, str_list};
use crate::value::Value;

const SS: &[P] = &[P::Str, P::Str];
const SSS: &[P] = &[P::Str, P::Str, P::Str];
const SSI: &[P] = &[P::Str, P::Str, P::Int];

pub(crate) const FUNCS: &[FuncDef] = &[
    f("regexMatch", SS, None, |a| {
        Ok(Value::Bool(
            compile(arg_str(a, 0)).is_ok_and(|r| r.is_match(arg_str(a, 1))),
        ))
    }),
    f("mustRegexMatch", SS, None, |a| {
        Ok(Value::Bool(compile(arg_str(a, 0))?.is_match(arg_str(a, 1))))
    }),
    f("regexFindAll", SSI, None, find_all),
    f("mustRegexFindAll", SSI, None, find_all),
    f("regexFind", SS, None, find),
    f("mustRegexFind", SS, None, find),
    f("regexReplaceAll", SSS, None, |a| replace(a, false)),
    f("mustRegexReplaceAll", SSS, None, |a| replace(a, false)),
    f("regexReplaceAllLiteral", SSS, None, |a| replace(a, true)),
    f("mustRegexReplaceAllLiteral", SSS, None, |a| {
        replace(a, true)
    }),
    f("regexSplit", SSI, None, split),
    f("mustRegexSplit", SSI, None, split),
    f("regexQuoteMeta", &[P::Str], None, |a| {
        Ok(Value::from(quote_meta(arg_str(a, 0))))
    }),
];

static CACHE: LazyLock<Mutex<HashMap<String, Regex>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_MAX: usize = 256;

/// Compile (cached). The error names no pattern text, which could come from data.
fn compile(pattern: &str) -> Result<Regex, String> {
    if let Ok(c) = CACHE.lock()
        && let Some(r) = c.get(pattern)
    {
        return Ok(r.clone());
    }
    let r = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| "regexp: Compile: error parsing regexp".to_string())?;
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(pattern.to_string(), r.clone());
    }
    Ok(r)
}

fn find_all(a: &[Value]) -> Result<Value, String> {
    let r = compile(arg_str(a, 0))?;
    let n = arg_int(a, 2);
    let it = r.find_iter(arg_str(a, 1)).map(|m| m.as_str().to_string());
    Ok(if n < 0 {
        str_list(it)
    } else {
        str_list(it.take(n as usize))
    })
}

fn find(a: &[Value]) -> Result<Value, String> {
    let r = compile(arg_str(a, 0))?;
    Ok(Value::from(
        r.find(arg_str(a, 1)).map(|m| m.as_str()).unwrap_or(""),
    ))
}

fn replace(a: &[Value], literal: bool) -> Result<Value, String> {
    let r = compile(arg_str(a, 0))?;
    let (s, repl) = (arg_str(a, 1), arg_str(a, 2));
    Ok(Value::from(if literal {
        r.replace_all(s, regex::NoExpand(repl)).into_owned()
    } else {
        r.replace_all(s, repl).into_owned()
    }))
}

/// Go's `Regexp.Split(s, n)`.
fn split(a: &[Value]) -> Result<Value, String> {
    let r = compile(arg_str(a, 0))?;
    let (s, n) = (arg_str(a, 1), arg_int(a, 2));
    if n == 0 {
        return Ok(Value::list(Vec::new()));
    }
    if r.as_str().is_empty() && !s.is_empty() {
        // Go special-cases an empty pattern: split into characters.
        let chars: Vec<String> = s.chars().map(String::from).collect();
        let chars = if n > 0 && (n as usize) < chars.len() {
            let mut head: Vec<String> = chars[..n as usize - 1].to_vec();
            head.push(chars[n as usize - 1..].concat());
            head
        } else {
            chars
        };
        return Ok(str_list(chars));
    }
    let mut out = Vec::new();
    let mut beg = 0;
    let mut end = 0;
    for m in r.find_iter(s) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() == 0 {
            continue;
        }
        out.push(s[beg..end].to_string());
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    Ok(str_list(out))
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
