//! Go's `encodeState.string`.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal, escaped like Go's `encoding/json`. Each byte that
/// is not part of valid UTF-8 becomes U+FFFD (written as the character, as Go ≥ 1.25's
/// encoder does; older Go wrote the escape `\ufffd`).
pub fn write_string(out: &mut Vec<u8>, s: &[u8], escape_html: bool) {
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            let escape: Option<&[u8]> = match b {
                b'"' => Some(b"\\\""),
                b'\\' => Some(b"\\\\"),
                b'\n' => Some(b"\\n"),
                b'\r' => Some(b"\\r"),
                b'\t' => Some(b"\\t"),
                0x08 => Some(b"\\b"),
                0x0c => Some(b"\\f"),
                b'<' | b'>' | b'&' if escape_html => Some(b""),
                0..=0x1f => Some(b""),
                _ => None,
            };
            if let Some(e) = escape {
                out.extend_from_slice(&s[start..i]);
                if e.is_empty() {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                } else {
                    out.extend_from_slice(e);
                }
                start = i + 1;
            }
            i += 1;
            continue;
        }
        let len = utf8_len(&s[i..]);
        if len == 0 {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice("\u{fffd}".as_bytes());
            i += 1;
            start = i;
            continue;
        }
        // U+2028 and U+2029 (E2 80 A8 / E2 80 A9) break JavaScript string literals.
        if len == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8 {
            out.extend_from_slice(&s[start..i]);
            out.extend_from_slice(if s[i + 2] == 0xa8 {
                b"\\u2028"
            } else {
                b"\\u2029"
            });
            start = i + 3;
        }
        i += len;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// Length of the valid UTF-8 sequence starting `s` (non-empty, first byte ≥ 0x80), or 0.
fn utf8_len(s: &[u8]) -> usize {
    let want = match s[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return 0,
    };
    match s.get(..want).map(std::str::from_utf8) {
        Some(Ok(_)) => want,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8], html: bool) -> String {
        let mut out = Vec::new();
        write_string(&mut out, s, html);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(enc(b"a\"b\\c", true), r#""a\"b\\c""#);
        assert_eq!(
            enc(b"\x08\x0c\n\r\t\x01\x1f\x7f", true),
            "\"\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}\""
        );
        assert_eq!(enc(b"<&>", true), r#""\u003c\u0026\u003e""#);
        assert_eq!(enc(b"<&>", false), r#""<&>""#);
        assert_eq!(
            enc("\u{2028}\u{2029}é".as_bytes(), false),
            r#""\u2028\u2029é""#
        );
        assert_eq!(enc(b"\xff\xe2\x82", true), "\"\u{fffd}\u{fffd}\u{fffd}\"");
    }
}
