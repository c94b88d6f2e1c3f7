//! PEM handling with Go `encoding/pem` semantics, and ESO's `filterPEM`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{FuncDef, P, arg_bytes, arg_str, f};
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[f("filterPEM", &[P::Str, P::Str], None, filter_pem)];

/// One PEM block.
pub(crate) struct Block {
    pub typ: String,
    pub headers: Vec<(String, String)>,
    pub bytes: Vec<u8>,
}

/// Go's `getLine`: the line without trailing spaces/tabs/CR, and the rest after `\n`.
fn get_line(data: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let end = line
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(0, |i| i + 1);
    (&line[..end], rest)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    super::bytes::find(hay, needle)
}

fn trim_space(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}

const PEM_START: &[u8] = b"\n-----BEGIN ";
const PEM_END: &[u8] = b"\n-----END ";
const PEM_EOL: &[u8] = b"-----";

/// Go's `pem.Decode`: the next block and the remaining input (`None` when no block).
pub(crate) fn decode(data: &[u8]) -> (Option<Block>, &[u8]) {
    let mut rest = data;
    loop {
        if rest.starts_with(&PEM_START[1..]) {
            rest = &rest[PEM_START.len() - 1..];
        } else if let Some(i) = find(rest, PEM_START) {
            rest = &rest[i + PEM_START.len()..];
        } else {
            return (None, data);
        }
        let (type_line, r) = get_line(rest);
        rest = r;
        let Some(type_line) = type_line.strip_suffix(PEM_EOL) else {
            continue;
        };
        let mut headers = Vec::new();
        loop {
            if rest.is_empty() {
                return (None, data);
            }
            let (line, next) = get_line(rest);
            let Some(colon) = line.iter().position(|b| *b == b':') else {
                break;
            };
            let key = String::from_utf8_lossy(trim_space(&line[..colon])).into_owned();
            let val = String::from_utf8_lossy(trim_space(&line[colon + 1..])).into_owned();
            headers.retain(|(k, _): &(String, String)| *k != key);
            headers.push((key, val));
            rest = next;
        }
        let (end_index, trailer_index) = if headers.is_empty() && rest.starts_with(&PEM_END[1..]) {
            (0, PEM_END.len() - 1)
        } else {
            match find(rest, PEM_END) {
                Some(i) => (i, i + PEM_END.len()),
                None => continue,
            }
        };
        let trailer = &rest[trailer_index..];
        let trailer_len = type_line.len() + PEM_EOL.len();
        if trailer.len() < trailer_len {
            continue;
        }
        let (end_line, rest_of_end) = trailer.split_at(trailer_len);
        if !end_line.starts_with(type_line) || !end_line.ends_with(PEM_EOL) {
            continue;
        }
        if !get_line(rest_of_end).0.is_empty() {
            continue;
        }
        let b64: Vec<u8> = rest[..end_index]
            .iter()
            .copied()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .collect();
        let Ok(bytes) = STANDARD.decode(&b64) else {
            continue;
        };
        let after = &rest[end_index + PEM_END.len() - 1..];
        let (_, after) = get_line(after);
        let typ = String::from_utf8_lossy(type_line).into_owned();
        return (
            Some(Block {
                typ,
                headers,
                bytes,
            }),
            after,
        );
    }
}

/// Go's `pem.Encode`.
pub(crate) fn encode(out: &mut Vec<u8>, block: &Block) {
    out.extend_from_slice(b"-----BEGIN ");
    out.extend_from_slice(block.typ.as_bytes());
    out.extend_from_slice(b"-----\n");
    if !block.headers.is_empty() {
        let mut headers: Vec<&(String, String)> = block.headers.iter().collect();
        headers.sort_by(|a, b| (a.0 != "Proc-Type", &a.0).cmp(&(b.0 != "Proc-Type", &b.0)));
        for (k, v) in headers {
            out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
        }
        out.push(b'\n');
    }
    let b64 = STANDARD.encode(&block.bytes);
    for chunk in b64.as_bytes().chunks(64) {
        out.extend_from_slice(chunk);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END ");
    out.extend_from_slice(block.typ.as_bytes());
    out.extend_from_slice(b"-----\n");
}

/// ESO drops anything before the first `-----BEGIN`.
pub(crate) fn trim_junk(input: &[u8]) -> &[u8] {
    match find(input, b"-----BEGIN") {
        Some(i) => &input[i..],
        None => input,
    }
}

/// ESO's `filterPEM TYPE input`: all blocks of TYPE (case-insensitive), re-encoded.
fn filter_pem(a: &[Value]) -> Result<Value, String> {
    let typ = arg_str(a, 0);
    let mut data = trim_junk(arg_bytes(a, 1));
    let mut out = Vec::new();
    loop {
        let (block, rest) = decode(data);
        data = rest;
        let Some(block) = block else { break };
        if block.typ.eq_ignore_ascii_case(&typ) || block.typ.to_lowercase() == typ.to_lowercase() {
            encode(&mut out, &block);
        }
    }
    if out.is_empty() && !data.is_empty() {
        return Err("error filtering pem: found junk".into());
    }
    Ok(Value::from(out))
}
