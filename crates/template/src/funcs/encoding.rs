//! Encoding, hashing, YAML, UUID and random-bytes functions.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sha1::Digest as _;

use super::{FuncDef, P, arg_int, arg_str, f};
use crate::value::{Map, Value};

pub(crate) const FUNCS: &[FuncDef] = &[
    f("b64enc", &[P::Str], None, |a| {
        Ok(Value::from(STANDARD.encode(arg_str(a, 0))))
    }),
    f("b64dec", &[P::Str], None, |a| {
        Ok(Value::from(b64dec(arg_str(a, 0))))
    }),
    f("b32enc", &[P::Str], None, |a| {
        Ok(Value::from(b32enc(arg_str(a, 0).as_bytes())))
    }),
    f("b32dec", &[P::Str], None, |a| {
        Ok(Value::from(b32dec(arg_str(a, 0))))
    }),
    f("sha1sum", &[P::Str], None, |a| {
        Ok(Value::from(hex(&sha1::Sha1::digest(
            arg_str(a, 0).as_bytes(),
        ))))
    }),
    f("sha256sum", &[P::Str], None, |a| {
        Ok(Value::from(hex(&sha2::Sha256::digest(
            arg_str(a, 0).as_bytes(),
        ))))
    }),
    f("sha512sum", &[P::Str], None, |a| {
        Ok(Value::from(hex(&sha2::Sha512::digest(
            arg_str(a, 0).as_bytes(),
        ))))
    }),
    f("adler32sum", &[P::Str], None, |a| {
        Ok(Value::from(adler32(arg_str(a, 0).as_bytes()).to_string()))
    }),
    f("uuidv4", &[], None, |_| {
        Ok(Value::from(uuid::Uuid::new_v4().to_string()))
    }),
    f("randBytes", &[P::Int], None, |a| {
        let n = arg_int(a, 0);
        if !(0..=1 << 20).contains(&n) {
            return Err("count out of range".into());
        }
        let mut buf = vec![0u8; n as usize];
        rand::rng().fill_bytes(&mut buf);
        Ok(Value::from(STANDARD.encode(&buf)))
    }),
    f("toYaml", &[P::Any], None, |a| {
        Ok(Value::from(super::super::yaml::to_yaml(&a[0])))
    }),
    f("fromYaml", &[P::Str], None, |a| {
        Ok(from_yaml(arg_str(a, 0)))
    }),
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Go returns the decode error text as the result; it mentions only the byte offset.
fn b64dec(s: &str) -> String {
    match STANDARD.decode(s) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => match e {
            base64::DecodeError::InvalidByte(off, _)
            | base64::DecodeError::InvalidLastSymbol(off, _) => {
                format!("illegal base64 data at input byte {off}")
            }
            _ => format!("illegal base64 data at input byte {}", go_b64_err_offset(s)),
        },
    }
}

fn go_b64_err_offset(s: &str) -> usize {
    // Go reports the offset where the final quantum went wrong.
    (s.len() / 4) * 4
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(s: &str) -> String {
    let bytes = s.as_bytes();
    if bytes.len() % 8 != 0 {
        return format!(
            "illegal base32 data at input byte {}",
            (bytes.len() / 8) * 8
        );
    }
    let mut out = Vec::new();
    for (ci, chunk) in bytes.chunks(8).enumerate() {
        let mut n: u64 = 0;
        let mut valid = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'2'..=b'7' => c - b'2' + 26,
                b'=' => {
                    if chunk[i..].iter().any(|x| *x != b'=') || ci != bytes.len() / 8 - 1 {
                        return format!("illegal base32 data at input byte {}", ci * 8 + i);
                    }
                    break;
                }
                _ => return format!("illegal base32 data at input byte {}", ci * 8 + i),
            };
            n |= u64::from(v) << (35 - 5 * i);
            valid += 1;
        }
        let nbytes = match valid {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => return format!("illegal base32 data at input byte {}", ci * 8 + valid),
        };
        let be = n.to_be_bytes();
        out.extend_from_slice(&be[3..3 + nbytes]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// ESO's `fromYaml`: a map; on error the map holds the message under "Error".
fn from_yaml(s: &str) -> Value {
    match serde_yaml::from_str::<serde_yaml::Value>(s) {
        Ok(serde_yaml::Value::Mapping(m)) => yaml_to_value(serde_yaml::Value::Mapping(m)),
        Ok(serde_yaml::Value::Null) => Value::from(Map::new()),
        Ok(_) => {
            let mut m = Map::new();
            m.insert("Error".into(), Value::from("error unmarshaling JSON: json: cannot unmarshal non-object into Go value of type map[string]interface {}"));
            Value::from(m)
        }
        Err(e) => {
            let mut m = Map::new();
            let loc = e
                .location()
                .map(|l| format!(" line {}", l.line()))
                .unwrap_or_default();
            m.insert(
                "Error".into(),
                Value::from(format!(
                    "error converting YAML to JSON: yaml:{loc} invalid YAML"
                )),
            );
            Value::from(m)
        }
    }
}

fn yaml_to_value(v: serde_yaml::Value) -> Value {
    match v {
        serde_yaml::Value::Null => Value::Nil,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_yaml::Value::String(s) => Value::from(s),
        serde_yaml::Value::Sequence(s) => Value::list(s.into_iter().map(yaml_to_value).collect()),
        serde_yaml::Value::Mapping(m) => Value::from(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        serde_yaml::Value::String(s) => s,
                        other => yaml_to_value(other).to_go_string(),
                    };
                    (key, yaml_to_value(v))
                })
                .collect::<Map>(),
        ),
        serde_yaml::Value::Tagged(t) => yaml_to_value(t.value),
    }
}
