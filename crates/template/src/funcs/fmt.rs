//! Go `fmt` emulation for `print`, `println`, `printf` (and sprig functions using them).

use std::fmt::Write as _;

use super::{FuncDef, P, m};
use crate::budget::{Bounded, Budget, TooLarge};
use crate::value::{Value, format_exp, format_fixed, format_float_g, shortest_digits};

pub(crate) const FUNCS: &[FuncDef] = &[
    m("print", &[], Some(P::Any), |b, a| {
        printed(b, |out| sprint(out, a))
    }),
    m("println", &[], Some(P::Any), |b, a| {
        printed(b, |out| sprintln(out, a))
    }),
    m("printf", &[P::Str], Some(P::Any), |b, a| {
        let format = super::arg_str(a, 0);
        printed(b, |out| sprintf(out, &format, &a[1..]))
    }),
];

/// Runs a printing function into a string bounded by the budget's string limit.
pub(crate) fn printed(
    budget: &Budget,
    f: impl FnOnce(&mut Bounded<'_>) -> Result<(), TooLarge>,
) -> Result<Value, String> {
    let mut out = Vec::new();
    f(&mut budget.writer(&mut out)).map_err(|_| budget.string_error())?;
    Ok(Value::from(out))
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(out: &mut Bounded<'_>, a: &[Value]) -> Result<(), TooLarge> {
    for (i, v) in a.iter().enumerate() {
        if i > 0 && !matches!(v, Value::String(_)) && !matches!(a[i - 1], Value::String(_)) {
            out.push(b" ")?;
        }
        v.write_go(out)?;
    }
    Ok(())
}

/// `fmt.Sprintln`: always spaces, trailing newline.
pub(crate) fn sprintln(out: &mut Bounded<'_>, a: &[Value]) -> Result<(), TooLarge> {
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            out.push(b" ")?;
        }
        v.write_go(out)?;
    }
    out.push(b"\n")
}

/// Go's `strconv.Quote` (invalid UTF-8 bytes become `\xNN`).
pub(crate) fn go_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            quote_char(&mut out, c, '"');
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

fn quote_char(out: &mut String, c: char, q: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == q => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c == '\x7f' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if !is_go_printable(c) => {
            if (c as u32) < 0x10000 {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
        c => out.push(c),
    }
}

/// Approximation of Go's `strconv.IsPrint`: letters, marks, numbers, punctuation,
/// symbols and U+0020 are printable; controls, format characters, private use and
/// non-ASCII spaces are not.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format = matches!(u,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F);
    let private_or_surrogate = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF);
    let noncharacter = (u & 0xFFFE) == 0xFFFE || (0xFDD0..=0xFDEF).contains(&u);
    !(format || private_or_surrogate || noncharacter)
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt` refuses widths and precisions beyond a million (`tooLarge`).
const FMT_MAX: i64 = 1_000_000;

/// Go's `parsenum`: digits at `i`; `None` for a number Go considers too large (the rest of
/// the format is then consumed and `%!(NOVERB)` printed).
fn parse_num(b: &[u8], mut i: usize) -> (Option<usize>, usize, bool) {
    let start = i;
    let mut n: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        if n > FMT_MAX {
            return (None, b.len(), true);
        }
        n = n * 10 + i64::from(b[i] - b'0');
        i += 1;
    }
    ((i > start).then_some(n as usize), i, false)
}

/// Go's `intFromArg`: an `int`/`int64` argument within Go's width limits.
fn int_from_arg(args: &[Value], argi: &mut usize) -> Option<i64> {
    let v = args.get(*argi)?;
    *argi += 1;
    match v {
        Value::Int(n) | Value::Int64(n) if (-FMT_MAX..=FMT_MAX).contains(n) => Some(*n),
        _ => None,
    }
}

/// `fmt.Sprintf` for the verbs templates use: v s q d x X o b c t T e E f F g G %.
pub(crate) fn sprintf(out: &mut Bounded<'_>, format: &str, args: &[Value]) -> Result<(), TooLarge> {
    let mut argi = 0;
    let b = format.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i] != b'%' {
            i += 1;
        }
        out.push(&b[start..i])?;
        if i >= b.len() {
            break;
        }
        i += 1;
        let mut spec = Spec::default();
        while i < b.len() {
            match b[i] {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b'#' => spec.sharp = true,
                b' ' => spec.space = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if i < b.len() && b[i] == b'*' {
            i += 1;
            match int_from_arg(args, &mut argi) {
                Some(n) => {
                    spec.width = Some(n.unsigned_abs() as usize);
                    if n < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                }
                None => out.push(b"%!(BADWIDTH)")?,
            }
        } else {
            let (n, next, _) = parse_num(b, i);
            spec.width = n;
            i = next;
        }
        if i + 1 < b.len() && b[i] == b'.' {
            i += 1;
            if b[i] == b'*' {
                i += 1;
                match int_from_arg(args, &mut argi) {
                    Some(n) if n >= 0 => spec.prec = Some(n as usize),
                    _ => out.push(b"%!(BADPREC)")?,
                }
            } else {
                let (n, next, _) = parse_num(b, i);
                spec.prec = Some(n.unwrap_or(0));
                i = next;
            }
        }
        let Some(verb) = format.get(i..).and_then(|r| r.chars().next()) else {
            out.push(b"%!(NOVERB)")?;
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push(b"%")?;
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push(format!("%!{verb}(MISSING)").as_bytes())?;
            continue;
        };
        argi += 1;
        format_one(out, verb, spec, arg)?;
    }
    if argi < args.len() {
        out.push(b"%!(EXTRA ")?;
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.push(b", ")?;
            }
            if let Value::Nil = a {
                out.push(b"<nil>")?;
            } else {
                out.push(a.type_name().as_bytes())?;
                out.push(b"=")?;
                a.write_go(out)?;
            }
        }
        out.push(b")")?;
    }
    Ok(())
}

fn pad(
    out: &mut Bounded<'_>,
    s: impl AsRef<[u8]>,
    spec: Spec,
    numeric: bool,
) -> Result<(), TooLarge> {
    let s = s.as_ref();
    let n = s
        .utf8_chunks()
        .map(|c| c.valid().chars().count() + c.invalid().len())
        .sum::<usize>();
    let w = spec.width.unwrap_or(0);
    if n >= w {
        out.push(s)
    } else if spec.minus {
        out.push(s)?;
        out.repeat(b' ', w - n)
    } else if spec.zero && numeric {
        let (sign, digits) = if s.starts_with(b"-") || s.starts_with(b"+") {
            s.split_at(1)
        } else {
            (&s[..0], s)
        };
        out.push(sign)?;
        out.repeat(b'0', w - n)?;
        out.push(digits)
    } else {
        out.repeat(b' ', w - n)?;
        out.push(s)
    }
}

fn bad_verb(out: &mut Bounded<'_>, verb: char, arg: &Value) -> Result<(), TooLarge> {
    if let Value::Nil = arg {
        return out.push(format!("%!{verb}(<nil>)").as_bytes());
    }
    out.push(format!("%!{verb}({}=", arg.type_name()).as_bytes())?;
    arg.write_go(out)?;
    out.push(b")")
}

/// Formats `inner` into a scratch buffer no larger than what `out` can still take.
fn scratch(
    out: &Bounded<'_>,
    inner: impl FnOnce(&mut Bounded<'_>) -> Result<(), TooLarge>,
) -> Result<Vec<u8>, TooLarge> {
    let mut s = Vec::new();
    inner(&mut Bounded::new(&mut s, out.remaining()))?;
    Ok(s)
}

fn format_one(out: &mut Bounded<'_>, verb: char, spec: Spec, arg: &Value) -> Result<(), TooLarge> {
    let unpadded = Spec {
        width: None,
        ..spec
    };
    match (verb, arg) {
        // fmt.Stringer: the verbs that print strings use time.Time's String method
        ('s' | 'v' | 'q' | 'x' | 'X', Value::Time(t)) => {
            format_one(out, verb, spec, &Value::from(t.go_string()))
        }
        ('T', a) => pad(out, a.type_name(), spec, false),
        ('v', Value::Float(x)) if spec.prec.is_none() => {
            pad(out, with_sign(format_float_g(*x), spec), spec, true)
        }
        ('v', Value::Int(_) | Value::Int64(_)) => format_one(out, 'd', spec, arg),
        ('v', Value::String(s)) if spec.sharp => pad(out, go_quote(s.as_bytes()), spec, false),
        ('v', Value::Float(x)) => pad(
            out,
            with_sign(format_float(*x, 'g', spec.prec), spec),
            spec,
            true,
        ),
        ('v', a) => {
            let s = scratch(out, |o| a.write_go(o))?;
            pad(out, s, spec, false)
        }
        ('s', Value::String(s)) => match spec.prec {
            Some(p) => pad(
                out,
                s.to_str_lossy().chars().take(p).collect::<String>(),
                spec,
                false,
            ),
            None => pad(out, s.as_bytes(), spec, false),
        },
        ('s' | 'd' | 'q' | 'x' | 'X', Value::List(l)) => {
            let s = scratch(out, |o| {
                o.push(b"[")?;
                for (k, v) in l.iter().enumerate() {
                    if k > 0 {
                        o.push(b" ")?;
                    }
                    format_one(o, verb, unpadded, v)?;
                }
                o.push(b"]")
            })?;
            pad(out, &s, spec, false)
        }
        ('s' | 'd' | 'q' | 'x' | 'X', Value::Map(m) | Value::StrMap(m)) => {
            let s = scratch(out, |o| {
                o.push(b"map[")?;
                for (k, (key, v)) in m.iter().enumerate() {
                    if k > 0 {
                        o.push(b" ")?;
                    }
                    format_one(o, verb, unpadded, &Value::from(key.as_str()))?;
                    o.push(b":")?;
                    format_one(o, verb, unpadded, v)?;
                }
                o.push(b"]")
            })?;
            pad(out, &s, spec, false)
        }
        ('q', Value::String(s)) => pad(out, go_quote(s.as_bytes()), spec, false),
        ('x' | 'X', Value::String(s)) => {
            out.reserve(s.len().saturating_mul(2))?;
            let mut h = String::with_capacity(s.len() * 2);
            for &byte in s.as_bytes() {
                if verb == 'x' {
                    let _ = write!(h, "{byte:02x}");
                } else {
                    let _ = write!(h, "{byte:02X}");
                }
            }
            pad(out, &h, spec, false)
        }
        ('t', Value::Bool(b)) => pad(out, if *b { "true" } else { "false" }, spec, false),
        ('d' | 'x' | 'X' | 'o' | 'b' | 'c' | 'q' | 'U', Value::Int(n) | Value::Int64(n)) => {
            let n = *n;
            let mag = n.unsigned_abs();
            let body = match verb {
                'd' => mag.to_string(),
                'x' => format!("{}{mag:x}", if spec.sharp { "0x" } else { "" }),
                'X' => format!("{}{mag:X}", if spec.sharp { "0X" } else { "" }),
                'o' => format!("{}{mag:o}", if spec.sharp { "0" } else { "" }),
                'b' => format!("{mag:b}"),
                'c' => {
                    let c = u32::try_from(n)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}');
                    return pad(out, c.to_string(), spec, false);
                }
                'q' => {
                    let c = u32::try_from(n)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}');
                    let mut s = String::from("'");
                    quote_char(&mut s, c, '\'');
                    s.push('\'');
                    return pad(out, &s, spec, false);
                }
                _ => {
                    return pad(out, format!("U+{:04X}", n as u64), spec, false);
                }
            };
            let sign = if n < 0 {
                "-"
            } else if spec.plus {
                "+"
            } else if spec.space {
                " "
            } else {
                ""
            };
            pad(out, format!("{sign}{body}"), spec, true)
        }
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Value::Float(x)) => {
            let s = format_float(*x, verb, spec.prec);
            pad(out, with_sign(s, spec), spec, true)
        }
        _ => bad_verb(out, verb, arg),
    }
}

fn with_sign(s: String, spec: Spec) -> String {
    if s.starts_with('-') {
        s
    } else if spec.plus {
        format!("+{s}")
    } else if spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn format_float(x: f64, verb: char, prec: Option<usize>) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = match verb {
        'f' | 'F' => format!("{:.*}", prec.unwrap_or(6), x),
        'e' | 'E' => go_exp(&format!("{:.*e}", prec.unwrap_or(6), x)),
        _ => match prec {
            None => format_float_g(x),
            Some(p) => {
                let p = p.max(1);
                let (digits, dp) = shortest_digits(x);
                let exp = dp - 1;
                if exp < -4 || exp >= p as i32 {
                    go_exp(&format!("{:.*e}", p - 1, x)).replace(".0e", "e")
                } else {
                    let decimals = (p as i32 - dp).max(0) as usize;
                    let s = format!("{:.*}", decimals, x);
                    let _ = (&digits, format_exp, format_fixed);
                    if s.contains('.') {
                        s.trim_end_matches('0').trim_end_matches('.').to_string()
                    } else {
                        s
                    }
                }
            }
        },
    };
    if verb.is_ascii_uppercase() {
        s.to_uppercase()
    } else {
        s
    }
}

/// Turn Rust's `1.5e3` into Go's `1.5e+03`.
fn go_exp(s: &str) -> String {
    let Some((m, e)) = s.split_once('e') else {
        return s.to_string();
    };
    let (sign, digits) = if let Some(d) = e.strip_prefix('-') {
        ('-', d)
    } else {
        ('+', e)
    };
    format!("{m}e{sign}{digits:0>2}")
}
