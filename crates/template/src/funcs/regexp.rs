//! sprig regex functions. Go's RE2 syntax is what Rust's `regex` crate implements.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

use super::{FuncDef, P, arg_int, arg_str, f, m, str_list};
use crate::budget::{Budget, cost};
use crate::value::Value;

const SS: &[P] = &[P::Str, P::Str];
const SSS: &[P] = &[P::Str, P::Str, P::Str];
const SSI: &[P] = &[P::Str, P::Str, P::Int];

pub(crate) const FUNCS: &[FuncDef] = &[
    m("regexMatch", SS, None, |b, a| {
        let hay = arg_str(a, 1);
        Ok(Value::Bool(match compile(b, &arg_str(a, 0), hay.len()) {
            Ok(r) => r.is_match(&hay),
            Err(Failure::Limit(e)) => return Err(e),
            Err(Failure::Syntax(_)) => false,
        }))
    }),
    m("mustRegexMatch", SS, None, |b, a| {
        let hay = arg_str(a, 1);
        Ok(Value::Bool(
            compile(b, &arg_str(a, 0), hay.len())?.is_match(&hay),
        ))
    }),
    m("regexFindAll", SSI, None, find_all),
    m("mustRegexFindAll", SSI, None, find_all),
    m("regexFind", SS, None, find),
    m("mustRegexFind", SS, None, find),
    m("regexReplaceAll", SSS, None, |b, a| replace(b, a, false)),
    m("mustRegexReplaceAll", SSS, None, |b, a| {
        replace(b, a, false)
    }),
    m("regexReplaceAllLiteral", SSS, None, |b, a| {
        replace(b, a, true)
    }),
    m("mustRegexReplaceAllLiteral", SSS, None, |b, a| {
        replace(b, a, true)
    }),
    m("regexSplit", SSI, None, split),
    m("mustRegexSplit", SSI, None, split),
    f("regexQuoteMeta", &[P::Str], None, |a| {
        Ok(Value::from(quote_meta(&arg_str(a, 0))))
    }),
];

/// A compiled expression and the size of its NFA (what matching can cost per input byte).
type Compiled = (Regex, usize);

static CACHE: LazyLock<Mutex<HashMap<String, Compiled>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_MAX: usize = 256;
/// Largest compiled expression (bytes of the regex crate's program / NFA).
const SIZE_LIMIT: usize = 1 << 20;

/// Why an expression cannot be used.
enum Failure {
    /// Not a valid expression (the non-`must` forms treat it as no match).
    Syntax(String),
    /// A render limit: always an error.
    Limit(String),
}

impl From<Failure> for String {
    fn from(f: Failure) -> String {
        match f {
            Failure::Syntax(e) | Failure::Limit(e) => e,
        }
    }
}

/// Compiles (cached) and charges matching it over `input` bytes. Errors name no pattern
/// text, which could come from data.
fn compile(budget: &mut Budget, pattern: &str, input: usize) -> Result<Regex, Failure> {
    let cached = CACHE.lock().ok().and_then(|c| c.get(pattern).cloned());
    let (regex, states) = match cached {
        Some(c) => c,
        None => {
            budget
                .charge(cost::regex(pattern.len(), 1))
                .map_err(Failure::Limit)?;
            let syntax = || Failure::Syntax("regexp: Compile: error parsing regexp".to_string());
            let nfa = regex_automata::nfa::thompson::NFA::compiler()
                .configure(
                    regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(SIZE_LIMIT)),
                )
                .build(pattern)
                .map_err(|_| syntax())?;
            let r = regex::RegexBuilder::new(pattern)
                .size_limit(SIZE_LIMIT)
                .build()
                .map_err(|_| syntax())?;
            let compiled = (r, nfa.states().len());
            if let Ok(mut c) = CACHE.lock() {
                if c.len() >= CACHE_MAX {
                    c.clear();
                }
                c.insert(pattern.to_string(), compiled.clone());
            }
            compiled
        }
    };
    budget
        .charge(cost::regex(states, input))
        .map_err(Failure::Limit)?;
    Ok(regex)
}

/// Collects matches one at a time, failing past the list limit.
fn bounded_list<I: Iterator<Item = String>>(budget: &Budget, it: I) -> Result<Value, String> {
    let max = budget.limits().max_collection_len;
    let mut out = Vec::new();
    for s in it {
        if out.len() >= max {
            budget.check_len(out.len() as u128 + 1)?;
        }
        out.push(s);
    }
    Ok(str_list(out))
}

fn find_all(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let hay = arg_str(a, 1);
    let r = compile(budget, &arg_str(a, 0), hay.len())?;
    let n = arg_int(a, 2);
    let it = r.find_iter(&hay).map(|m| m.as_str().to_string());
    if n < 0 {
        bounded_list(budget, it)
    } else {
        bounded_list(budget, it.take(usize::try_from(n).unwrap_or(usize::MAX)))
    }
}

fn find(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let hay = arg_str(a, 1);
    let r = compile(budget, &arg_str(a, 0), hay.len())?;
    Ok(Value::from(r.find(&hay).map(|m| m.as_str()).unwrap_or("")))
}

fn replace(budget: &mut Budget, a: &[Value], literal: bool) -> Result<Value, String> {
    let (s, repl) = (arg_str(a, 1), arg_str(a, 2));
    let r = compile(budget, &arg_str(a, 0), s.len())?;
    let (s, repl) = (&*s, &*repl);
    // Built match by match, so the string limit stops it before it grows past the limit.
    let limit = budget.limits().max_string_bytes;
    let mut out = String::new();
    let mut last = 0;
    let mut piece = String::new();
    for caps in r.captures_iter(s) {
        let Some(m) = caps.get(0) else { continue };
        piece.clear();
        if literal {
            piece.push_str(repl);
        } else {
            caps.expand(repl, &mut piece);
        }
        if out.len() + (m.start() - last) + piece.len() > limit {
            return Err(budget.string_error());
        }
        out.push_str(&s[last..m.start()]);
        out.push_str(&piece);
        last = m.end();
    }
    if out.len() + (s.len() - last) > limit {
        return Err(budget.string_error());
    }
    out.push_str(&s[last..]);
    Ok(Value::from(out))
}

/// Go's `Regexp.Split(s, n)`.
fn split(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let (s, n) = (arg_str(a, 1), arg_int(a, 2));
    let r = compile(budget, &arg_str(a, 0), s.len())?;
    let s = &*s;
    if n == 0 {
        return Ok(Value::list(Vec::new()));
    }
    if r.as_str().is_empty() && !s.is_empty() {
        // Go special-cases an empty pattern: split into characters.
        budget.check_len(s.chars().count() as u128)?;
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
        if out.len() >= budget.limits().max_collection_len {
            budget.check_len(out.len() as u128 + 1)?;
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
