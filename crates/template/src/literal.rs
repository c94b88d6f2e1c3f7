//! Go literal syntax: numbers (`strconv.ParseInt`/`ParseFloat` with base prefixes and
//! underscores) and quoted strings (`strconv.Unquote`).

use crate::ast::Number;

/// Parse a Go numeric literal (ints with base prefixes/underscores, floats).
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    if body.contains('_') && (body.starts_with('_') || body.ends_with('_') || body.contains("__")) {
        return None;
    }
    let lower = clean.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains('.') || h.contains('p') {
            None
        } else {
            Some(i128::from_str_radix(h, 16).ok()?)
        }
    } else if let Some(o) = lower.strip_prefix("0o") {
        Some(i128::from_str_radix(o, 8).ok()?)
    } else if let Some(b) = lower.strip_prefix("0b") {
        Some(i128::from_str_radix(b, 2).ok()?)
    } else if !lower.contains(['.', 'e']) {
        if lower.len() > 1 && lower.starts_with('0') {
            Some(i128::from_str_radix(&lower[1..], 8).ok()?)
        } else {
            Some(lower.parse::<i128>().ok()?)
        }
    } else {
        None
    };
    if let Some(i) = int {
        let i = if neg { -i } else { i };
        let v = i64::try_from(i).ok()?;
        return Some(Number {
            is_int: true,
            int: v,
            is_float: true,
            float: v as f64,
            float_typed: false,
        });
    }
    if lower.starts_with("0x") {
        return None;
    }
    let f: f64 = lower.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let f = if neg { -f } else { f };
    let is_int = f.fract() == 0.0 && f.abs() < 9.2e18;
    Some(Number {
        is_int,
        int: if is_int { f as i64 } else { 0 },
        is_float: true,
        float: f,
        float_typed: true,
    })
}

/// Go's `strconv.Unquote` for "...", `...` and '...' literals.
pub(crate) fn unquote(text: &str) -> Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if text.len() < 2 {
        return Err(bad());
    }
    let quote = text.as_bytes()[0];
    if text.as_bytes()[text.len() - 1] != quote {
        return Err(bad());
    }
    let body = &text[1..text.len() - 1];
    if quote == b'`' {
        return Ok(body.replace('\r', ""));
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if (quote == b'"' && c == '"') || (quote == b'\'' && c == '\'') || c == '\n' {
                return Err(bad());
            }
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' if quote == b'"' => out.push('"'),
            '\'' if quote == b'\'' => out.push('\''),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                if hex.len() != n {
                    return Err(bad());
                }
                let v = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
                if e == 'x' {
                    // A \x byte; only valid UTF-8 sequences survive in a Rust string.
                    if v < 0x80 {
                        out.push(v as u8 as char);
                    } else {
                        out.push(char::REPLACEMENT_CHARACTER);
                    }
                } else {
                    out.push(char::from_u32(v).ok_or_else(bad)?);
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars.next().and_then(|c| c.to_digit(8)).ok_or_else(bad)?;
                    v = v * 8 + d;
                }
                if v > 255 {
                    return Err(bad());
                }
                if v < 0x80 {
                    out.push(v as u8 as char);
                } else {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}
