//! sprig's case conversion and wrapping functions: `camelcase`, `snakecase`, `kebabcase`
//! (huandu/xstrings v1.5.0; ESO's vendored sprig maps `camelcase` to `ToPascalCase`,
//! runtime/template/v2/sprig/functions.go), `wrap`, `wrapWith` and
//! `abbrevboth` (Masterminds/goutils `WrapCustom` / `AbbreviateFull`).

use super::{FuncDef, P, arg_bytes, arg_int, arg_str, f, m};
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    f("camelcase", &[P::Str], None, |a| {
        Ok(Value::from(to_pascal_case(&arg_str(a, 0))))
    }),
    f("snakecase", &[P::Str], None, |a| {
        Ok(Value::from(to_lower_words(&arg_str(a, 0), '_')))
    }),
    f("kebabcase", &[P::Str], None, |a| {
        Ok(Value::from(to_lower_words(&arg_str(a, 0), '-')))
    }),
    f("wrap", &[P::Int, P::Str], None, |a| {
        Ok(Value::from(wrap_custom(
            arg_bytes(a, 1),
            arg_int(a, 0),
            b"\n",
            false,
        )))
    }),
    m("wrapWith", &[P::Int, P::Str, P::Str], None, |b, a| {
        let (s, width, newline) = (arg_bytes(a, 2), arg_int(a, 0), arg_bytes(a, 1));
        // At most one separator per `width` bytes of input.
        let width = u128::try_from(width.max(1)).unwrap_or(1);
        let lines = s.len() as u128 / width + 1;
        b.check_string(s.len() as u128 + lines * newline.len().max(1) as u128)?;
        Ok(Value::from(wrap_custom(s, arg_int(a, 0), newline, true)))
    }),
    f("abbrevboth", &[P::Int, P::Int, P::Str], None, |a| {
        Ok(Value::from(abbrevboth(
            arg_int(a, 0),
            arg_int(a, 1),
            arg_bytes(a, 2),
        )))
    }),
];

/// xstrings `isConnector`: `-`, `_` and Unicode white space.
fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// Go `unicode.IsPunct` (general category P). Exact for ASCII (`$+<=>^`|~` are symbols,
/// not punctuation, in Go); common non-ASCII punctuation blocks are approximated.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
    }
    matches!(c as u32,
        0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E
        | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F | 0xFF01..=0xFF03
        | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F | 0xFF1A | 0xFF1B | 0xFF1F | 0xFF20)
}

fn to_upper(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

fn to_lower(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// xstrings v1.5.0 `ToPascalCase`: `"http_server"` → `"HttpServer"`,
/// `"GOLANG_IS_GREAT"` → `"GolangIsGreat"`, leading connectors are kept.
pub(crate) fn to_pascal_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut first_upper = false;
    let mut r0 = '\0';
    // leading connectors appear in the output
    while i < chars.len() {
        r0 = chars[i];
        i += 1;
        if !is_connector(r0) {
            first_upper = r0.is_uppercase();
            r0 = to_upper(r0);
            break;
        }
        out.push(r0);
    }
    if i == chars.len() {
        if !is_connector(r0) {
            out.push(r0);
        }
        return out;
    }
    while i < chars.len() {
        let r1 = r0;
        r0 = chars[i];
        i += 1;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = to_upper(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = to_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

/// xstrings `isAlphabet` in v1.5.0: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
        && !matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// xstrings `nextWord`: classify and split off the next word of `s[start..]`.
fn next_word(s: &[char], start: usize) -> (Word, usize) {
    let mut end = start + 1;
    let r = s[start];
    let wt = if is_connector(r) {
        while end < s.len() && is_connector(s[end]) {
            end += 1;
        }
        Word::Connector
    } else if is_punct(r) {
        while end < s.len() && is_punct(s[end]) {
            end += 1;
        }
        Word::Punct
    } else if r.is_uppercase() {
        if end < s.len() {
            let n = s[end];
            if n.is_uppercase() {
                while end < s.len() && s[end].is_uppercase() {
                    end += 1;
                }
                // "HTTPStatus" splits into "HTTP" and "Status"
                if end < s.len() && is_alphabet(s[end]) {
                    end -= 1;
                }
            } else if is_alphabet(n) {
                while end < s.len() && is_alphabet(s[end]) && !s[end].is_uppercase() {
                    end += 1;
                }
            }
        }
        Word::Upper
    } else if is_alphabet(r) {
        while end < s.len() && is_alphabet(s[end]) && !s[end].is_uppercase() {
            end += 1;
        }
        Word::Alpha
    } else if r.is_numeric() {
        while end < s.len() && s[end].is_numeric() {
            end += 1;
        }
        Word::Number
    } else {
        while end < s.len() {
            let c = s[end];
            if is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c) {
                break;
            }
            end += 1;
        }
        Word::Other
    };
    (wt, end)
}

fn write_lower(out: &mut String, wt: Word, word: &[char], sep: char) {
    for &c in word {
        if wt != Word::Upper && wt != Word::Connector {
            out.push(c);
        } else if is_connector(c) {
            out.push(sep);
        } else if c.is_uppercase() {
            out.push(to_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings v1.5.0 `camelCaseToLowerCase` behind `ToSnakeCase`/`ToKebabCase`:
/// `"HTTPServer"` → `"http_server"`, `"HTTP20xOK"` → `"http_20x_ok"`.
pub(crate) fn to_lower_words(s: &str, sep: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(s.len() + 4);
    // (type, start, end) of the current word; `pos` is where the remaining text starts.
    let next = |pos: usize| -> Option<(Word, usize, usize)> {
        (pos < chars.len()).then(|| {
            let (wt, end) = next_word(&chars, pos);
            (wt, pos, end)
        })
    };
    let Some(mut cur) = next(0) else {
        return out;
    };
    let mut pos = cur.2;
    let is_word = |w: Option<(Word, usize, usize)>, t: &[Word]| w.is_some_and(|w| t.contains(&w.0));
    while pos < chars.len() {
        if cur.0 != Word::Connector {
            write_lower(&mut out, cur.0, &chars[cur.1..cur.2], sep);
        }
        let prev = cur;
        let mut nw = next(pos);
        pos = nw.map_or(pos, |w| w.2);
        match prev.0 {
            Word::Number => {
                while is_word(nw, &[Word::Alpha, Word::Number]) {
                    let w = nw.expect("checked");
                    write_lower(&mut out, w.0, &chars[w.1..w.2], sep);
                    nw = next(pos);
                    pos = nw.map_or(pos, |w| w.2);
                }
                if nw.is_some() && !is_word(nw, &[Word::Punct, Word::Connector]) {
                    out.push(sep);
                }
            }
            Word::Connector => write_lower(&mut out, prev.0, &chars[prev.1..prev.2], sep),
            Word::Punct => {}
            _ => {
                let w = nw.expect("remaining text is not empty");
                if w.0 != Word::Number {
                    if w.0 != Word::Connector && w.0 != Word::Punct {
                        out.push(sep);
                    }
                } else if pos < chars.len() {
                    let last = w;
                    nw = next(pos);
                    pos = nw.map_or(pos, |w| w.2);
                    if !is_word(nw, &[Word::Alpha]) {
                        // "Bld4Floor" => "bld4_floor": the number belongs to the word before
                        write_lower(&mut out, Word::Number, &chars[last.1..last.2], sep);
                        if !is_word(nw, &[Word::Connector, Word::Punct]) {
                            out.push(sep);
                        }
                    } else {
                        // "HTTP2xx" => "http_2xx"
                        out.push(sep);
                        write_lower(&mut out, Word::Number, &chars[last.1..last.2], sep);
                        while is_word(nw, &[Word::Alpha, Word::Number]) {
                            let w = nw.expect("checked");
                            write_lower(&mut out, w.0, &chars[w.1..w.2], sep);
                            nw = next(pos);
                            pos = nw.map_or(pos, |w| w.2);
                        }
                        if nw.is_some() && !is_word(nw, &[Word::Connector, Word::Punct]) {
                            out.push(sep);
                        }
                    }
                }
            }
        }
        match nw {
            Some(w) => cur = w,
            None => return out,
        }
    }
    write_lower(&mut out, cur.0, &chars[cur.1..cur.2], sep);
    out
}

/// goutils `WrapCustom` (byte offsets, words split at `' '`).
pub(crate) fn wrap_custom(s: &[u8], width: i64, newline: &[u8], wrap_long: bool) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let newline: &[u8] = if newline.is_empty() { b"\n" } else { newline };
    let width = usize::try_from(width.max(1)).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(s.len() + s.len() / width.max(1) * newline.len());
    let mut offset = 0usize;
    while s.len() - offset > width {
        if s[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        if let Some(sp) = s[offset..end].iter().rposition(|&b| b == b' ') {
            out.extend_from_slice(&s[offset..offset + sp]);
            out.extend_from_slice(newline);
            offset += sp + 1;
        } else if wrap_long {
            out.extend_from_slice(&s[offset..offset + width]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            let end = width + offset;
            match s[end..].iter().position(|&b| b == b' ') {
                Some(i) => {
                    out.extend_from_slice(&s[offset..end + i]);
                    out.extend_from_slice(newline);
                    offset = end + i + 1;
                }
                None => {
                    out.extend_from_slice(&s[offset..]);
                    offset = s.len();
                }
            }
        }
    }
    out.extend_from_slice(&s[offset..]);
    out
}

/// goutils `AbbreviateFull` (byte offsets).
fn abbreviate_full(s: &[u8], offset: i64, width: i64) -> Vec<u8> {
    let len = s.len() as i64;
    if s.is_empty() || width < 4 {
        return Vec::new();
    }
    if len <= width {
        return s.to_vec();
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    let marker = b"...";
    if offset <= 4 {
        let mut out = s[..(width - 3) as usize].to_vec();
        out.extend_from_slice(marker);
        return out;
    }
    if width < 7 {
        return Vec::new();
    }
    let mut out = marker.to_vec();
    if offset + width - 3 < len {
        out.extend(abbreviate_full(&s[offset as usize..], 0, width - 3));
    } else {
        out.extend_from_slice(&s[(len - (width - 3)) as usize..]);
    }
    out
}

/// sprig `abbrevboth`.
fn abbrevboth(left: i64, right: i64, s: &[u8]) -> Vec<u8> {
    if right < 4 || (left > 0 && right < 7) {
        return s.to_vec();
    }
    abbreviate_full(s, left, right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_matches_xstrings_pascal_case_doc_samples() {
        // huandu/xstrings v1.5.0 convert.go doc comment of ToPascalCase (ESO's camelcase);
        // sprig docs/strings.md: camelcase "http_server" → "HttpServer".
        for (input, want) in [
            ("some_words", "SomeWords"),
            ("http_server", "HttpServer"),
            ("no_https", "NoHttps"),
            ("_complex__case_", "_Complex_Case_"),
            ("some words", "SomeWords"),
            ("GOLANG_IS_GREAT", "GolangIsGreat"),
            ("a", "A"),
            ("", ""),
        ] {
            assert_eq!(to_pascal_case(input), want, "{input}");
        }
    }

    #[test]
    fn snake_and_kebab_case_match_xstrings_doc_samples() {
        // huandu/xstrings v1.5.0 convert.go doc comments of ToSnakeCase / ToKebabCase.
        for (input, want) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
        ] {
            assert_eq!(to_lower_words(input, '_'), want, "{input}");
            assert_eq!(
                to_lower_words(input, '-'),
                want.replace('_', "-"),
                "{input}"
            );
        }
    }

    #[test]
    fn wrap_matches_goutils() {
        // sprig docs/strings.md: `wrap 80 $someText`; goutils wordutils_test.go cases.
        assert_eq!(
            wrap_custom(
                b"Here is one line of text that is going to be wrapped after 20 columns.",
                20,
                b"\n",
                false
            ),
            b"Here is one line of\ntext that is going\nto be wrapped after\n20 columns.".to_vec()
        );
        // sprig functions_test: wrapWith 5 "\t" "Hello World" → "Hello\tWorld"
        assert_eq!(
            wrap_custom(b"Hello World", 5, b"\t", true),
            b"Hello\tWorld".to_vec()
        );
        assert_eq!(
            wrap_custom(b"abcdefghij", 3, b"-", true),
            b"abc-def-ghi-j".to_vec()
        );
        assert_eq!(
            wrap_custom(b"abcdefghij kl", 3, b"\n", false),
            b"abcdefghij\nkl".to_vec()
        );
    }

    #[test]
    fn abbrevboth_matches_sprig_docs() {
        // sprig docs/strings.md: abbrevboth 5 10 "1234 5678 9123" → "...5678..."
        assert_eq!(abbrevboth(5, 10, b"1234 5678 9123"), b"...5678...".to_vec());
        // goutils stringutils_test.go AbbreviateFull cases
        assert_eq!(
            abbreviate_full(b"abcdefghijklmno", 10, 10),
            b"...ijklmno".to_vec()
        );
        assert_eq!(
            abbreviate_full(b"abcdefghijklmno", 5, 10),
            b"...fghi...".to_vec()
        );
        assert_eq!(abbrevboth(0, 3, b"abcdef"), b"abcdef".to_vec());
    }
}
