//! YAML emitter for ESO's `toYaml` (sigs.k8s.io/yaml → go-yaml v2 style):
//! sorted keys, 2-space indentation, sequences not indented under mapping keys,
//! literal block style for multi-line strings, double quotes for strings that
//! would otherwise read as another type, single quotes for strings plain style
//! cannot carry.

use crate::budget::TooLarge;
use crate::value::{Value, format_float_g};

/// Render like ESO's `toYaml` (trailing newline trimmed), failing past `limit` bytes.
pub(crate) fn to_yaml(v: &Value, limit: usize) -> Result<String, TooLarge> {
    let mut out = String::new();
    match v {
        Value::Map(m) | Value::StrMap(m) if !m.is_empty() => write_map(&mut out, v, 0, limit)?,
        Value::List(l) if !l.is_empty() => write_list(&mut out, v, 0, limit)?,
        other => {
            out.push_str(&scalar(other, 0, limit)?);
            out.push('\n');
        }
    }
    check(&out, limit)?;
    Ok(out.strip_suffix('\n').map(str::to_string).unwrap_or(out))
}

fn check(out: &str, limit: usize) -> Result<(), TooLarge> {
    if out.len() > limit {
        return Err(TooLarge);
    }
    Ok(())
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Map(m) | Value::StrMap(m) => !m.is_empty(),
        Value::List(l) => !l.is_empty(),
        _ => false,
    }
}

fn write_map(out: &mut String, v: &Value, indent: usize, limit: usize) -> Result<(), TooLarge> {
    let Some(m) = v.as_map() else { return Ok(()) };
    let mut first = true;
    for (k, val) in m {
        check(out, limit)?;
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str(&string_scalar(k, indent, limit)?);
        out.push(':');
        match val {
            Value::Map(_) | Value::StrMap(_) if is_block(val) => {
                out.push('\n');
                pad(out, indent + 2);
                write_map(out, val, indent + 2, limit)?;
            }
            Value::List(_) if is_block(val) => {
                out.push('\n');
                pad(out, indent);
                write_list(out, val, indent, limit)?;
            }
            _ => {
                out.push(' ');
                out.push_str(&scalar(val, indent + 2, limit)?);
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn write_list(out: &mut String, v: &Value, indent: usize, limit: usize) -> Result<(), TooLarge> {
    let Value::List(l) = v else { return Ok(()) };
    let mut first = true;
    for item in l.iter() {
        check(out, limit)?;
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str("- ");
        match item {
            Value::Map(_) | Value::StrMap(_) if is_block(item) => {
                write_map(out, item, indent + 2, limit)?
            }
            Value::List(_) if is_block(item) => write_list(out, item, indent + 2, limit)?,
            _ => {
                out.push_str(&scalar(item, indent + 2, limit)?);
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn scalar(v: &Value, indent: usize, limit: usize) -> Result<String, TooLarge> {
    Ok(match v {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) => {
            secretsync_gojson::format_float(*f).unwrap_or_else(|| format_float_g(*f))
        }
        Value::String(s) => string_scalar(&s.to_str_lossy(), indent, limit)?,
        Value::List(_) => "[]".into(),
        Value::Map(_) | Value::StrMap(_) => "{}".into(),
        // sigs.k8s.io/yaml goes through JSON: a time is its RFC 3339 string
        Value::Time(t) => string_scalar(
            &crate::gotime::format(t, "2006-01-02T15:04:05.999999999Z07:00"),
            indent,
            limit,
        )?,
    })
}

fn string_scalar(s: &str, indent: usize, limit: usize) -> Result<String, TooLarge> {
    // Every line of a block scalar is indented: check the size before building it.
    let lines = memchr::memchr_iter(b'\n', s.as_bytes()).count();
    if s.len()
        .saturating_add(lines.saturating_mul(indent.max(2) + 1))
        > limit
    {
        return Err(TooLarge);
    }
    Ok(string_scalar_unchecked(s, indent))
}

fn string_scalar_unchecked(s: &str, indent: usize) -> String {
    if s.contains('\n') && s.chars().all(|c| c == '\n' || !c.is_control() || c == '\t') {
        return literal(s, indent);
    }
    if resolves_to_non_string(s) {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return double_quoted(s);
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn literal(s: &str, indent: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let lead_space = if s.starts_with(' ') { "2" } else { "" };
    let mut out = format!("|{lead_space}{chomp}");
    let body = if trailing > 0 { &s[..s.len() - 1] } else { s };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            for _ in 0..indent.max(2) {
                out.push(' ');
            }
            out.push_str(line);
        }
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether go-yaml v2 would resolve the plain scalar to something other than a string.
fn resolves_to_non_string(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    const WORDS: &[&str] = &[
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let plain = body.replace('_', "");
    if plain.is_empty() {
        return false;
    }
    let lower = plain.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0x") {
        return !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(b) = lower.strip_prefix("0b") {
        return !b.is_empty() && b.chars().all(|c| c == '0' || c == '1');
    }
    if plain.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    // base 60 (1:20) and floats
    if plain.contains(':')
        && plain
            .split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return true;
    }
    plain.parse::<f64>().is_ok()
        && plain.chars().any(|c| c.is_ascii_digit())
        && !lower.contains("inf")
        && !lower.contains("nan")
}

/// Approximation of libyaml's analysis of whether a scalar can be written plain
/// in block context.
fn plain_allowed(s: &str) -> bool {
    let first = s.chars().next().unwrap_or(' ');
    if s.starts_with([' ', '\t']) || s.ends_with([' ', '\t']) {
        return false;
    }
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if matches!(first, '-' | '?' | ':') {
        let second = s[1..].chars().next();
        if second.is_none_or(|c| c == ' ' || c == '\t') {
            return false;
        }
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.contains(":\t")
        || s.contains("\t#")
    {
        return false;
    }
    !s.chars().any(|c| c.is_control() || c == '\u{FEFF}')
}
