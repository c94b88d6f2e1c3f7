//! Encoding, hashing, YAML, UUID and random-bytes functions.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sha1::Digest as _;

use super::decode::{Counter, ValueSeed};
use super::{FuncDef, P, arg_bytes, arg_int, arg_str, f, m};
use crate::budget::{Budget, cost};
use crate::value::{Map, Value};

pub(crate) const FUNCS: &[FuncDef] = &[
    f("b64enc", &[P::Str], None, |a| {
        Ok(Value::from(STANDARD.encode(arg_bytes(a, 0))))
    }),
    f("b64dec", &[P::Str], None, |a| {
        Ok(Value::from(b64dec(arg_bytes(a, 0))))
    }),
    f("b32enc", &[P::Str], None, |a| {
        Ok(Value::from(b32enc(arg_bytes(a, 0))))
    }),
    f("b32dec", &[P::Str], None, |a| {
        Ok(Value::from(b32dec(arg_bytes(a, 0))))
    }),
    f("sha1sum", &[P::Str], None, |a| {
        Ok(Value::from(hex(&sha1::Sha1::digest(arg_bytes(a, 0)))))
    }),
    f("sha256sum", &[P::Str], None, |a| {
        Ok(Value::from(hex(&sha2::Sha256::digest(arg_bytes(a, 0)))))
    }),
    f("sha512sum", &[P::Str], None, |a| {
        Ok(Value::from(hex(&sha2::Sha512::digest(arg_bytes(a, 0)))))
    }),
    f("adler32sum", &[P::Str], None, |a| {
        Ok(Value::from(adler32(arg_bytes(a, 0)).to_string()))
    }),
    f("uuidv4", &[], None, |_| {
        Ok(Value::from(uuid::Uuid::new_v4().to_string()))
    }),
    m("bcrypt", &[P::Str], None, |b, a| {
        b.charge(cost::BCRYPT)?;
        Ok(Value::from(bcrypt_hash(arg_bytes(a, 0))))
    }),
    m("htpasswd", &[P::Str, P::Str, P::Str], None, htpasswd),
    m("randBytes", &[P::Int], None, |b, a| {
        let n = arg_int(a, 0);
        if n < 0 {
            return Err("count out of range".into());
        }
        b.check_string((n as u128).div_ceil(3) * 4)?;
        let mut buf = zeroize::Zeroizing::new(vec![0u8; n as usize]);
        rand::rng().fill_bytes(&mut buf);
        Ok(Value::from(STANDARD.encode(&*buf)))
    }),
    m("toYaml", &[P::Any], None, |b, a| {
        let limit = b.limits().max_string_bytes;
        crate::yaml::to_yaml(&a[0], limit)
            .map(Value::from)
            .map_err(|_| b.string_error())
    }),
    m("fromYaml", &[P::Str], None, |b, a| {
        from_yaml(b, &arg_str(a, 0))
    }),
];

/// sprig's `bcrypt`: `$2a$` hash with Go's default cost 10; Go refuses passwords longer
/// than 72 bytes and sprig then returns the error text as the result.
fn bcrypt_hash(pw: &[u8]) -> String {
    if pw.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::hash_with_result(pw, 10) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(_) => "failed to encrypt string with bcrypt".into(),
    }
}

/// sprig v3.3 `htpasswd user password algorithm` ("sha" → `{SHA}`, otherwise bcrypt).
fn htpasswd(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let user = arg_bytes(a, 0);
    let mut out = Vec::new();
    if user.contains(&b':') {
        out.extend_from_slice(b"invalid username: ");
        out.extend_from_slice(user);
        return Ok(Value::from(out));
    }
    out.extend_from_slice(user);
    out.push(b':');
    if arg_str(a, 2) == "sha" {
        out.extend_from_slice(b"{SHA}");
        out.extend_from_slice(
            STANDARD
                .encode(sha1::Sha1::digest(arg_bytes(a, 1)))
                .as_bytes(),
        );
    } else {
        budget.charge(cost::BCRYPT)?;
        out.extend_from_slice(bcrypt_hash(arg_bytes(a, 1)).as_bytes());
    }
    Ok(Value::from(out))
}

/// Go's `hex.EncodeToString` (lowercase).
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Go returns the decode error text as the result; it mentions only the byte offset.
fn b64dec(s: &[u8]) -> Vec<u8> {
    match STANDARD.decode(s) {
        Ok(b) => b,
        Err(e) => match e {
            base64::DecodeError::InvalidByte(off, _)
            | base64::DecodeError::InvalidLastSymbol(off, _) => {
                format!("illegal base64 data at input byte {off}").into_bytes()
            }
            _ => format!("illegal base64 data at input byte {}", go_b64_err_offset(s)).into_bytes(),
        },
    }
}

fn go_b64_err_offset(s: &[u8]) -> usize {
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

/// Go's `base32.StdEncoding.EncodeToString` (padded).
pub fn b32enc(data: &[u8]) -> String {
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

fn b32dec(bytes: &[u8]) -> Vec<u8> {
    b32dec_inner(bytes).unwrap_or_else(String::into_bytes)
}

fn b32dec_inner(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if !bytes.len().is_multiple_of(8) {
        return Err(format!(
            "illegal base32 data at input byte {}",
            (bytes.len() / 8) * 8
        ));
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
                        return Err(format!("illegal base32 data at input byte {}", ci * 8 + i));
                    }
                    break;
                }
                _ => return Err(format!("illegal base32 data at input byte {}", ci * 8 + i)),
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
            _ => {
                return Err(format!(
                    "illegal base32 data at input byte {}",
                    ci * 8 + valid
                ));
            }
        };
        let be = n.to_be_bytes();
        out.extend_from_slice(&be[3..3 + nbytes]);
    }
    Ok(out)
}

/// ESO's `fromYaml`: a map; on error the map holds the message under "Error". A render
/// limit reached while decoding is an error of the call.
fn from_yaml(budget: &mut Budget, s: &str) -> Result<Value, String> {
    let counter = Counter::new(budget);
    let parsed = serde_yaml::Deserializer::from_str(s)
        .next()
        .map(|doc| serde::de::DeserializeSeed::deserialize(ValueSeed { counter: &counter }, doc))
        .unwrap_or(Ok(Value::Nil));
    if let Some(limit) = counter.finish(budget) {
        return Err(limit);
    }
    let error = |message: String| {
        let mut m = Map::new();
        m.insert("Error".into(), Value::from(message));
        Value::from(m)
    };
    Ok(match parsed {
        Ok(v @ Value::Map(_)) => v,
        Ok(Value::Nil) => Value::from(Map::new()),
        Ok(_) => error("error unmarshaling JSON: json: cannot unmarshal non-object into Go value of type map[string]interface {}".into()),
        Err(e) => {
            let loc = e
                .location()
                .map(|l| format!(" line {}", l.line()))
                .unwrap_or_default();
            error(format!("error converting YAML to JSON: yaml:{loc} invalid YAML"))
        }
    })
}
