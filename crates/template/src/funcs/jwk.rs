//! ESO's `jwkPublicKeyPem` / `jwkPrivateKeyPem` (runtime/template/v2/jwk.go: lestrrat-go/jwx
//! `jwk.ParseKey` → `x509.MarshalPKIXPublicKey` / `MarshalPKCS8PrivateKey`) and
//! `rsaDecrypt` (decrypt.go: RSA-OAEP with SHA-1/SHA-256/SHA-512, or `None`).
//!
//! Key types: RSA, EC P-256/P-384, OKP Ed25519. As in ESO, `jwkPublicKeyPem` of a JWK that
//! holds a private key fails (Go cannot marshal a private key as PKIX).

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use p256::pkcs8::EncodePublicKey as _;
use rsa::BoxedUint;
use serde_json::Value as Json;
use zeroize::Zeroizing;

use super::keys::{PrivKey, parse_cost, pem};
use super::pem::decode;
use super::{FuncDef, P, arg_bytes, arg_str, f, m};
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    f("jwkPublicKeyPem", &[P::Str], None, |a| {
        jwk_public_pem(arg_bytes(a, 0)).map(Value::from)
    }),
    m("jwkPrivateKeyPem", &[P::Str], None, |b, a| {
        b.charge(parse_cost(arg_bytes(a, 0).len()))?;
        jwk_private_pem(arg_bytes(a, 0)).map(Value::from)
    }),
    m(
        "rsaDecrypt",
        &[P::Str, P::Str, P::Str, P::Str],
        None,
        |b, a| {
            b.charge(2 * parse_cost(arg_bytes(a, 3).len()))?;
            rsa_decrypt(
                &arg_str(a, 0),
                &arg_str(a, 1),
                arg_bytes(a, 2),
                arg_bytes(a, 3),
            )
            .map(Value::from)
        },
    ),
];

/// A parsed JWK: a public key (SPKI DER) or a private key.
enum Jwk {
    Public(Vec<u8>),
    Private(PrivKey),
}

fn member<'a>(obj: &'a serde_json::Map<String, Json>, name: &str) -> Option<&'a str> {
    obj.get(name).and_then(Json::as_str)
}

fn b64(
    obj: &serde_json::Map<String, Json>,
    name: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    let Some(s) = member(obj, name) else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .map(|v| Some(Zeroizing::new(v)))
        .map_err(|_| format!("failed to parse JWK: field {name:?} is not base64url"))
}

fn required(obj: &serde_json::Map<String, Json>, name: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    b64(obj, name)?
        .ok_or_else(|| format!("failed to parse JWK: required field {name:?} is missing"))
}

fn uint(b: &[u8]) -> BoxedUint {
    BoxedUint::from_be_slice_vartime(b)
}

fn parse_jwk(input: &[u8]) -> Result<Jwk, String> {
    let json: Json = serde_json::from_slice(input)
        .map_err(|_| "failed to parse JWK: invalid JSON".to_string())?;
    let obj = json
        .as_object()
        .ok_or_else(|| "failed to parse JWK: expected a JSON object".to_string())?;
    let kty =
        member(obj, "kty").ok_or_else(|| "failed to parse JWK: missing \"kty\"".to_string())?;
    let bad = |what: &str| format!("failed to parse JWK: invalid {what} key");
    match kty {
        "RSA" => {
            let n = uint(&required(obj, "n")?);
            let e = uint(&required(obj, "e")?);
            match b64(obj, "d")? {
                None => {
                    let key = rsa::PublicKey::new(n, e).map_err(|_| bad("RSA"))?;
                    let der = key.to_public_key_der().map_err(|_| bad("RSA"))?;
                    Ok(Jwk::Public(der.as_bytes().to_vec()))
                }
                Some(d) => {
                    let mut primes = Vec::new();
                    if let (Some(p), Some(q)) = (b64(obj, "p")?, b64(obj, "q")?) {
                        primes = vec![uint(&p), uint(&q)];
                    }
                    let key = rsa::PrivateKey::from_components(n, e, uint(&d), primes)
                        .map_err(|_| bad("RSA"))?;
                    Ok(Jwk::Private(PrivKey::Rsa(Box::new(key))))
                }
            }
        }
        "EC" => {
            let crv = member(obj, "crv").unwrap_or_default();
            let (x, y) = (required(obj, "x")?, required(obj, "y")?);
            let mut point = vec![0x04];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let d = b64(obj, "d")?;
            match crv {
                "P-256" => match d {
                    Some(d) => p256::SecretKey::from_slice(&d)
                        .map(|k| Jwk::Private(PrivKey::P256(k)))
                        .map_err(|_| bad("EC")),
                    None => p256::PublicKey::from_sec1_bytes(&point)
                        .map_err(|_| bad("EC"))?
                        .to_public_key_der()
                        .map(|d| Jwk::Public(d.as_bytes().to_vec()))
                        .map_err(|_| bad("EC")),
                },
                "P-384" => match d {
                    Some(d) => p384::SecretKey::from_slice(&d)
                        .map(|k| Jwk::Private(PrivKey::P384(k)))
                        .map_err(|_| bad("EC")),
                    None => p384::PublicKey::from_sec1_bytes(&point)
                        .map_err(|_| bad("EC"))?
                        .to_public_key_der()
                        .map(|d| Jwk::Public(d.as_bytes().to_vec()))
                        .map_err(|_| bad("EC")),
                },
                // P-521 public keys only (no P-521 arithmetic here): the point is not
                // checked against the curve, Go writes it as given.
                "P-521" if d.is_none() && x.len() == 66 && y.len() == 66 => {
                    let alg = super::keys::tlv(
                        0x30,
                        &[
                            super::keys::tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
                            super::keys::tlv(0x06, &[0x2b, 0x81, 0x04, 0x00, 0x23]),
                        ]
                        .concat(),
                    );
                    let mut bits = vec![0x00];
                    bits.extend_from_slice(&point);
                    let spki = super::keys::tlv(
                        0x30,
                        &[alg, super::keys::tlv(0x03, &bits)].concat(),
                    );
                    Ok(Jwk::Public(spki))
                }
                _ => Err("failed to parse JWK: unsupported EC curve or key (P-256, P-384 and P-521 public keys are supported)".to_string()),
            }
        }
        "OKP" => {
            if member(obj, "crv") != Some("Ed25519") {
                return Err(
                    "failed to parse JWK: unsupported OKP curve (Ed25519 is supported)".to_string(),
                );
            }
            match b64(obj, "d")? {
                Some(d) => {
                    let seed: [u8; 32] = d.as_slice().try_into().map_err(|_| bad("Ed25519"))?;
                    Ok(Jwk::Private(PrivKey::Ed25519(Box::new(
                        ed25519_dalek::SigningKey::from_bytes(&seed),
                    ))))
                }
                None => {
                    let x: [u8; 32] = required(obj, "x")?
                        .as_slice()
                        .try_into()
                        .map_err(|_| bad("Ed25519"))?;
                    ed25519_dalek::VerifyingKey::from_bytes(&x)
                        .map_err(|_| bad("Ed25519"))?
                        .to_public_key_der()
                        .map(|d| Jwk::Public(d.as_bytes().to_vec()))
                        .map_err(|_| bad("Ed25519"))
                }
            }
        }
        "oct" => Err("x509: unsupported key type: symmetric (oct) JWK".to_string()),
        _ => Err("failed to parse JWK: unsupported key type".to_string()),
    }
}

fn jwk_public_pem(input: &[u8]) -> Result<Vec<u8>, String> {
    match parse_jwk(input)? {
        Jwk::Public(der) => Ok(pem("PUBLIC KEY", &der)),
        Jwk::Private(_) => {
            Err("x509: unsupported public key type: the JWK holds a private key".to_string())
        }
    }
}

fn jwk_private_pem(input: &[u8]) -> Result<Vec<u8>, String> {
    match parse_jwk(input)? {
        Jwk::Private(key) => Ok(pem("PRIVATE KEY", &Zeroizing::new(key.to_pkcs8_der()?))),
        Jwk::Public(_) => Err(
            "x509: unknown key type while marshaling PKCS#8: the JWK holds a public key"
                .to_string(),
        ),
    }
}

/// ESO `rsaDecrypt(scheme, hash, in, privateKey)`.
fn rsa_decrypt(scheme: &str, hash: &str, input: &[u8], key_pem: &[u8]) -> Result<Vec<u8>, String> {
    match scheme {
        "None" => Ok(input.to_vec()),
        "RSA-OAEP" => {
            let (block, _) = decode(key_pem);
            let block = block.ok_or_else(|| "failed to decode PEM block".to_string())?;
            let key = PrivKey::from_der_any(&block.bytes)
                .map_err(|e| format!("could not parse private key: {e}"))?;
            let PrivKey::Rsa(key) = key else {
                return Err("could not parse RSA private key".to_string());
            };
            let out = match hash {
                "SHA1" => key.decrypt(rsa::Oaep::<sha1_v011::Sha1>::new(), input),
                "SHA512" => key.decrypt(rsa::Oaep::<rsa::sha2::Sha512>::new(), input),
                _ => key.decrypt(rsa::Oaep::<rsa::sha2::Sha256>::new(), input),
            };
            out.map_err(|_| "error decrypting data with RSA: decryption error".to_string())
        }
        _ => Err("decryption scheme is not supported (use RSA-OAEP or None)".to_string()),
    }
}
