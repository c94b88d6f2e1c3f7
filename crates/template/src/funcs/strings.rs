//! sprig string functions and path functions.

use rand::Rng;
use rand::seq::SliceRandom;

use super::{FuncDef, P, arg_int, arg_str, f, str_list};
use crate::value::{Map, Value};

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
        s(map_chars(arg_str(a, 0), |c| single(c.to_uppercase(), c)))
    }),
    // Go maps case rune by rune (simple case mapping): U+0130 lowercases to 'i'.
    f("lower", S, None, |a| {
        s(map_chars(arg_str(a, 0), |c| {
            c.to_lowercase().next().unwrap_or(c)
        }))
    }),
    f("title", S, None, |a| s(title(arg_str(a, 0)))),
    f("untitle", S, None, |a| s(untitle(arg_str(a, 0)))),
    f("substr", &[P::Int, P::Int, P::Str], None, substr),
    f("repeat", &[P::Int, P::Str], None, repeat),
    f("trimall", SS, None, |a| {
        s(go_trim(arg_str(a, 1), arg_str(a, 0)))
    }),
    f("trimAll", SS, None, |a| {
        s(go_trim(arg_str(a, 1), arg_str(a, 0)))
    }),
    f("trimSuffix", SS, None, |a| {
        s(arg_str(a, 1)
            .strip_suffix(arg_str(a, 0))
            .unwrap_or(arg_str(a, 1)))
    }),
    f("trimPrefix", SS, None, |a| {
        s(arg_str(a, 1)
            .strip_prefix(arg_str(a, 0))
            .unwrap_or(arg_str(a, 1)))
    }),
    f("nospace", S, None, |a| s(nospace(arg_str(a, 0)))),
    f("initials", S, None, |a| s(initials(arg_str(a, 0)))),
    f("randAlphaNum", &[P::Int], None, |a| {
        rand_from(
            a,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )
    }),
    f("randAlpha", &[P::Int], None, |a| {
        rand_from(a, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    }),
    f("randNumeric", &[P::Int], None, |a| {
        rand_from(a, b"0123456789")
    }),
    f("randAscii", &[P::Int], None, |a| {
        let printable: Vec<u8> = (32u8..=126).collect();
        rand_from(a, &printable)
    }),
    f("swapcase", S, None, |a| s(swapcase(arg_str(a, 0)))),
    f("shuffle", S, None, |a| {
        let mut chars: Vec<char> = arg_str(a, 0).chars().collect();
        chars.shuffle(&mut rand::rng());
        s(chars.into_iter().collect::<String>())
    }),
    f("contains", SS, None, |a| {
        Ok(Value::Bool(arg_str(a, 1).contains(arg_str(a, 0))))
    }),
    f("hasPrefix", SS, None, |a| {
        Ok(Value::Bool(arg_str(a, 1).starts_with(arg_str(a, 0))))
    }),
    f("hasSuffix", SS, None, |a| {
        Ok(Value::Bool(arg_str(a, 1).ends_with(arg_str(a, 0))))
    }),
    f("quote", &[], Some(P::Any), quote),
    f("squote", &[], Some(P::Any), squote),
    f("cat", &[], Some(P::Any), cat),
    f("indent", &[P::Int, P::Str], None, |a| {
        s(indent(arg_int(a, 0), arg_str(a, 1)))
    }),
    f("nindent", &[P::Int, P::Str], None, |a| {
        s(format!("\n{}", indent(arg_int(a, 0), arg_str(a, 1))))
    }),
    f("replace", SSS, None, |a| {
        s(arg_str(a, 2).replace(arg_str(a, 0), arg_str(a, 1)))
    }),
    f("plural", &[P::Str, P::Str, P::Int], None, |a| {
        s(if arg_int(a, 2) == 1 {
            arg_str(a, 0)
        } else {
            arg_str(a, 1)
        })
    }),
    f("toString", &[P::Any], None, |a| s(strval(&a[0]))),
    f("split", SS, None, |a| {
        Ok(split_map(go_split(arg_str(a, 1), arg_str(a, 0), -1)))
    }),
    f("splitList", SS, None, |a| {
        Ok(str_list(go_split(arg_str(a, 1), arg_str(a, 0), -1)))
    }),
    f("splitn", &[P::Str, P::Int, P::Str], None, splitn),
    f("toStrings", &[P::Any], None, |a| {
        Ok(str_list(strslice(&a[0])))
    }),
    f("join", &[P::Str, P::Any], None, |a| {
        s(strslice(&a[1]).join(arg_str(a, 0)))
    }),
    f("sortAlpha", &[P::Any], None, sort_alpha),
    f("abbrev", &[P::Int, P::Str], None, abbrev),
    f("trunc", &[P::Int, P::Str], None, trunc),
    // path
    f("base", S, None, |a| s(path_base(arg_str(a, 0)))),
    f("dir", S, None, |a| s(path_dir(arg_str(a, 0)))),
    f("clean", S, None, |a| s(path_clean(arg_str(a, 0)))),
    f("ext", S, None, |a| s(path_ext(arg_str(a, 0)))),
    f("isAbs", S, None, |a| {
        Ok(Value::Bool(arg_str(a, 0).starts_with('/')))
    }),
    f("osBase", S, None, |a| s(path_base(arg_str(a, 0)))),
    f("osDir", S, None, |a| s(path_dir(arg_str(a, 0)))),
    f("osClean", S, None, |a| s(path_clean(arg_str(a, 0)))),
    f("osExt", S, None, |a| s(path_ext(arg_str(a, 0)))),
    f("osIsAbs", S, None, |a| {
        Ok(Value::Bool(arg_str(a, 0).starts_with('/')))
    }),
];

fn single(mut it: impl Iterator<Item = char>, orig: char) -> char {
    match (it.next(), it.next()) {
        (Some(c), None) => c,
        _ => orig,
    }
}

fn map_chars(s: &str, f: impl Fn(char) -> char) -> String {
    s.chars().map(f).collect()
}

/// Go's `fmt.Sprintf("%v")`-based `strval`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        v => v.to_go_string(),
    }
}

/// sprig's `strslice`: list → strings of non-nil elements; nil → []; scalar → [strval].
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        v => vec![strval(v)],
    }
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

fn nospace(s: &str) -> String {
    if s.bytes().all(|b| !latin1(b).is_whitespace()) {
        return s.to_string();
    }
    s.bytes()
        .map(latin1)
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn initials(s: &str) -> String {
    let mut gap = true;
    let mut out = String::new();
    for c in s.bytes().map(latin1) {
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

fn bytes_to_string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn substr(a: &[Value]) -> Result<Value, String> {
    let (start, end, st) = (arg_int(a, 0), arg_int(a, 1), arg_str(a, 2).as_bytes());
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
    let (c, st) = (arg_int(a, 0), arg_str(a, 1));
    let len = st.len() as i64;
    let b = st.as_bytes();
    if c < 0 && len + c > 0 {
        return Ok(Value::from(bytes_to_string(&b[(len + c) as usize..])));
    }
    if c >= 0 && len > c {
        return Ok(Value::from(bytes_to_string(&b[..c as usize])));
    }
    Ok(Value::from(st))
}

fn abbrev(a: &[Value]) -> Result<Value, String> {
    let (w, st) = (arg_int(a, 0), arg_str(a, 1));
    if w < 4 || st.len() as i64 <= w {
        return Ok(Value::from(st));
    }
    Ok(Value::from(format!(
        "{}...",
        bytes_to_string(&st.as_bytes()[..(w - 3) as usize])
    )))
}

const MAX_REPEAT_BYTES: usize = 16 << 20;

fn repeat(a: &[Value]) -> Result<Value, String> {
    let (n, st) = (arg_int(a, 0), arg_str(a, 1));
    if n < 0 {
        return Err("strings: negative Repeat count".into());
    }
    if (n as u128) * (st.len() as u128) > MAX_REPEAT_BYTES as u128 {
        return Err(format!("repeat result exceeds {MAX_REPEAT_BYTES} bytes"));
    }
    Ok(Value::from(st.repeat(n as usize)))
}

fn rand_from(a: &[Value], alphabet: &[u8]) -> Result<Value, String> {
    let n = arg_int(a, 0);
    if n < 0 {
        return Err("count must be non-negative".into());
    }
    if n as usize > MAX_REPEAT_BYTES {
        return Err("count too large".into());
    }
    let mut rng = rand::rng();
    let out: String = (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect();
    Ok(Value::from(out))
}

fn quote(a: &[Value]) -> Result<Value, String> {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| super::fmt::go_quote(&strval(v)))
        .collect();
    Ok(Value::from(parts.join(" ")))
}

fn squote(a: &[Value]) -> Result<Value, String> {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| format!("'{}'", v.to_go_string()))
        .collect();
    Ok(Value::from(parts.join(" ")))
}

fn cat(a: &[Value]) -> Result<Value, String> {
    let parts: Vec<String> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(Value::to_go_string)
        .collect();
    Ok(Value::from(parts.join(" ")))
}

fn indent(n: i64, v: &str) -> String {
    let pad = " ".repeat(n.clamp(0, 1 << 16) as usize);
    format!("{pad}{}", v.replace('\n', &format!("\n{pad}")))
}

fn split_map(parts: Vec<String>) -> Value {
    let m: Map = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::from(p)))
        .collect();
    Value::StrMap(std::sync::Arc::new(m))
}

fn splitn(a: &[Value]) -> Result<Value, String> {
    let (sep, n, orig) = (arg_str(a, 0), arg_int(a, 1), arg_str(a, 2));
    Ok(split_map(go_split(orig, sep, n)))
}

/// Go's `strings.SplitN` (n < 0: all): an empty separator splits into characters.
pub(crate) fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && (n as usize) < chars.len() {
            let k = n as usize - 1;
            let mut head = chars[..k].to_vec();
            head.push(chars[k..].concat());
            return head;
        }
        return chars;
    }
    if n < 0 {
        s.split(sep).map(str::to_owned).collect()
    } else {
        s.splitn(n as usize, sep).map(str::to_owned).collect()
    }
}

fn sort_alpha(a: &[Value]) -> Result<Value, String> {
    match &a[0] {
        Value::List(_) => {
            let mut v = strslice(&a[0]);
            v.sort();
            Ok(str_list(v))
        }
        v => Ok(str_list(vec![strval(v)])),
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
