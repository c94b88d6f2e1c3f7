//! Byte-string helpers with Go `strings` semantics (Go strings are byte strings).

/// Position of `needle` in `hay` (linear time).
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Byte offsets where each UTF-8 "rune" starts (an invalid byte counts as one rune).
fn rune_starts(s: &[u8]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(s.len());
    let mut i = 0;
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            starts.push(i);
            i += c.len_utf8();
        }
        for _ in chunk.invalid() {
            starts.push(i);
            i += 1;
        }
    }
    starts
}

/// Go's `strings.Replace(s, old, new, -1)`.
pub(crate) fn replace_all(s: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    if old.is_empty() {
        // Go inserts `new` before every rune and at the end.
        let starts = rune_starts(s);
        for (k, &st) in starts.iter().enumerate() {
            out.extend_from_slice(new);
            let end = starts.get(k + 1).copied().unwrap_or(s.len());
            out.extend_from_slice(&s[st..end]);
        }
        out.extend_from_slice(new);
        return out;
    }
    let mut rest = s;
    while let Some(p) = find(rest, old) {
        out.extend_from_slice(&rest[..p]);
        out.extend_from_slice(new);
        rest = &rest[p + old.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Go's `strings.SplitN(s, sep, n)` (n < 0: no limit).
pub(crate) fn split_n(s: &[u8], sep: &[u8], n: i64) -> Vec<Vec<u8>> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let starts = rune_starts(s);
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for (k, &st) in starts.iter().enumerate() {
            if n > 0 && parts.len() as i64 == n - 1 {
                parts.push(s[st..].to_vec());
                return parts;
            }
            let end = starts.get(k + 1).copied().unwrap_or(s.len());
            parts.push(s[st..end].to_vec());
        }
        return parts;
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while n < 0 || (parts.len() as i64) < n - 1 {
        match find(rest, sep) {
            Some(p) => {
                parts.push(rest[..p].to_vec());
                rest = &rest[p + sep.len()..];
            }
            None => break,
        }
    }
    parts.push(rest.to_vec());
    parts
}
