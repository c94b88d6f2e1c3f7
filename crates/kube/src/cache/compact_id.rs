//! [`CompactId`]: a `metadata.uid` or `metadata.resourceVersion` held in at most 24 bytes
//! and, in its usual forms, without a heap allocation: a canonical lowercase UUID as its 16
//! bytes, a canonical decimal number (etcd's revisions) as a `u64`, anything else as text.
//! Each form turns back into exactly the string it was made from.

use std::fmt;

/// An object identifier held compactly (see the module docs).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum CompactId {
    /// A canonical lowercase UUID (`8-4-4-4-12` hex digits).
    Uuid([u8; 16]),
    /// A canonical decimal number (no sign, no leading zero).
    Number(u64),
    /// Any other form, as given.
    Text(Box<str>),
}

/// Positions of the hyphens in a canonical UUID.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let bytes = s.as_bytes();
    if bytes.len() != 36 || HYPHENS.iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let mut digits = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !HYPHENS.contains(i))
        .map(|(_, &c)| hex_digit(c));
    let mut out = [0u8; 16];
    for byte in &mut out {
        let high = digits.next()??;
        let low = digits.next()??;
        *byte = (high << 4) | low;
    }
    Some(out)
}

fn parse_number(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

impl CompactId {
    /// The compact form of `s`.
    pub fn new(s: &str) -> CompactId {
        if let Some(uuid) = parse_uuid(s) {
            CompactId::Uuid(uuid)
        } else if let Some(n) = parse_number(s) {
            CompactId::Number(n)
        } else {
            CompactId::Text(s.into())
        }
    }

    /// True when this is the identifier `s` (without building a string).
    pub fn is(&self, s: &str) -> bool {
        match self {
            CompactId::Uuid(uuid) => parse_uuid(s).is_some_and(|u| u == *uuid),
            CompactId::Number(n) => parse_number(s).is_some_and(|m| m == *n),
            CompactId::Text(text) => **text == *s,
        }
    }
}

impl fmt::Display for CompactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompactId::Uuid(uuid) => {
                for (i, byte) in uuid.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
            CompactId::Number(n) => write!(f, "{n}"),
            CompactId::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for CompactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips_and_usual_forms_are_inline() {
        let cases = [
            ("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "uuid"),
            ("00000000-0000-0000-0000-000000000000", "uuid"),
            ("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "text"),
            ("6ba7b8109dad11d180b400c04fd430c8", "text"),
            ("6ba7b810-9dad-11d1-80b4-00c04fd430cg", "text"),
            ("6ba7b810-9dad-11d1-80b4_00c04fd430c8", "text"),
            ("0", "number"),
            ("12345", "number"),
            ("18446744073709551615", "number"),
            ("18446744073709551616", "text"),
            ("007", "text"),
            ("+7", "text"),
            ("-7", "text"),
            ("", "text"),
            ("u-es", "text"),
            ("é-ü", "text"),
            ("1a", "text"),
        ];
        for (s, form) in cases {
            let id = CompactId::new(s);
            let got = match id {
                CompactId::Uuid(_) => "uuid",
                CompactId::Number(_) => "number",
                CompactId::Text(_) => "text",
            };
            assert_eq!(got, form, "{s:?}");
            assert_eq!(id.to_string(), s, "{s:?} round-trips");
            assert!(id.is(s), "{s:?} is itself");
            for (other, _) in cases.iter().filter(|(o, _)| *o != s) {
                assert!(!id.is(other), "{s:?} is not {other:?}");
            }
        }
        assert_eq!(std::mem::size_of::<CompactId>(), 24);
    }
}
