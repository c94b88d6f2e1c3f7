//! Private keys for the crypto functions: sprig's `genPrivateKey`, its PEM parsing
//! (`parsePrivateKeyPEM`) and PEM output (`pemBlockForKey`), and ESO's DER key parsing
//! (`parsePrivateKey`: PKCS#1, PKCS#8, SEC1). RSA, ECDSA P-256/P-384 and Ed25519; sprig's
//! DSA is not supported (Go deprecated it; no maintained pure-Rust implementation).

use der::Decode as _;
use getrandom::SysRng;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::rand_core::UnwrapErr;

use super::pem::{Block, decode, encode};
use crate::budget::cost;

/// The operating system's CSPRNG.
pub(crate) fn rng() -> UnwrapErr<SysRng> {
    UnwrapErr(SysRng)
}

/// A private key of one of the supported algorithms.
pub(crate) enum PrivKey {
    /// RSA.
    Rsa(Box<rsa::PrivateKey>),
    /// ECDSA on NIST P-256.
    P256(p256::SecretKey),
    /// ECDSA on NIST P-384.
    P384(p384::SecretKey),
    /// Ed25519.
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

const OID_RSA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: der::oid::ObjectIdentifier = der::oid::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.3.101.112");

/// Cost of parsing (and validating) a private key from `encoded_len` bytes of PEM, DER or
/// JWK: RSA validation grows with the cube of the modulus, which is at most a few bits per
/// encoded byte.
pub(crate) fn parse_cost(encoded_len: usize) -> u64 {
    cost::rsa_private_op(encoded_len.saturating_mul(3))
}

/// A DER TLV.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// PEM-encode one block.
pub(crate) fn pem(typ: &str, der: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(
        &mut out,
        &Block {
            typ: typ.to_string(),
            headers: Vec::new(),
            bytes: der.to_vec(),
        },
    );
    out
}

impl PrivKey {
    /// A new RSA key (Go `rsa.GenerateKey`, exponent 65537).
    pub(crate) fn generate_rsa(bits: usize) -> Result<Self, String> {
        rsa::PrivateKey::new(&mut SysRng, bits)
            .map(|k| PrivKey::Rsa(Box::new(k)))
            .map_err(|e| format!("error generating rsa key: {e}"))
    }

    /// sprig `genPrivateKey` types: `""`/`rsa` (4096 bits), `ecdsa` (P-256), `ed25519`.
    pub(crate) fn generate(typ: &str) -> Result<Self, String> {
        match typ {
            "" | "rsa" => Self::generate_rsa(4096),
            "ecdsa" => Ok(PrivKey::P256(
                <p256::SecretKey as rsa::Generate>::generate_from_rng(&mut rng()),
            )),
            "ed25519" => Ok(PrivKey::Ed25519(Box::new(
                ed25519_dalek::SigningKey::generate(&mut rng()),
            ))),
            _ => Err(format!("Unknown type {typ}")),
        }
    }

    /// sprig `pemBlockForKey`: PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PKCS#8
    /// `PRIVATE KEY` for Ed25519.
    pub(crate) fn to_sprig_pem(&self) -> Result<Vec<u8>, String> {
        let fail = "failed to encode private key";
        Ok(match self {
            PrivKey::Rsa(k) => pem(
                "RSA PRIVATE KEY",
                k.to_pkcs1_der().map_err(|_| fail)?.as_bytes(),
            ),
            PrivKey::P256(k) => pem("EC PRIVATE KEY", &k.to_sec1_der().map_err(|_| fail)?),
            PrivKey::P384(k) => pem("EC PRIVATE KEY", &k.to_sec1_der().map_err(|_| fail)?),
            PrivKey::Ed25519(_) => pem("PRIVATE KEY", &self.to_pkcs8_der()?),
        })
    }

    /// PKCS#8 DER (Go `x509.MarshalPKCS8PrivateKey`).
    pub(crate) fn to_pkcs8_der(&self) -> Result<Vec<u8>, String> {
        if let PrivKey::Ed25519(k) = self {
            // Go writes PKCS#8 v1 (the seed only, RFC 8410), not v2 with the public key
            let mut der = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            der.extend_from_slice(k.as_bytes());
            return Ok(der);
        }
        let doc = match self {
            PrivKey::Rsa(k) => k.to_pkcs8_der(),
            PrivKey::P256(k) => k.to_pkcs8_der(),
            PrivKey::P384(k) => k.to_pkcs8_der(),
            PrivKey::Ed25519(k) => k.to_pkcs8_der(),
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|_| "failed to encode private key as PKCS#8".to_string())
    }

    /// The public key as PKIX SubjectPublicKeyInfo DER.
    pub(crate) fn public_spki_der(&self) -> Result<Vec<u8>, String> {
        let doc = match self {
            PrivKey::Rsa(k) => k.to_public_key().to_public_key_der(),
            PrivKey::P256(k) => k.public_key().to_public_key_der(),
            PrivKey::P384(k) => k.public_key().to_public_key_der(),
            PrivKey::Ed25519(k) => k.verifying_key().to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|_| "failed to encode public key".to_string())
    }

    /// Parse PKCS#8 DER of any supported algorithm.
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        let info = rsa::pkcs8::PrivateKeyInfoRef::from_der(der)
            .map_err(|_| "x509: failed to parse private key (PKCS#8)".to_string())?;
        let alg = info.algorithm.oid;
        let bad = |_| "x509: failed to parse private key (PKCS#8)".to_string();
        if alg == OID_RSA {
            return rsa::PrivateKey::from_pkcs8_der(der)
                .map(|k| PrivKey::Rsa(Box::new(k)))
                .map_err(bad);
        }
        if alg == OID_ED25519 {
            return ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(|k| PrivKey::Ed25519(Box::new(k)))
                .map_err(bad);
        }
        if alg == OID_EC {
            let curve = info
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<der::oid::ObjectIdentifier>().ok());
            return match curve {
                Some(c) if c == OID_P256 => p256::SecretKey::from_pkcs8_der(der)
                    .map(PrivKey::P256)
                    .map_err(bad),
                Some(c) if c == OID_P384 => p384::SecretKey::from_pkcs8_der(der)
                    .map(PrivKey::P384)
                    .map_err(bad),
                _ => Err("x509: unsupported elliptic curve".to_string()),
            };
        }
        Err("x509: PKCS#8 wrapping contained private key with unknown algorithm".to_string())
    }

    /// Parse a SEC1 `ECPrivateKey` (P-256 or P-384).
    pub(crate) fn from_sec1_der(der: &[u8]) -> Result<Self, String> {
        if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
            return Ok(PrivKey::P256(k));
        }
        p384::SecretKey::from_sec1_der(der)
            .map(PrivKey::P384)
            .map_err(|_| "x509: failed to parse EC private key".to_string())
    }

    /// ESO `parsePrivateKey`: PKCS#1, then PKCS#8, then SEC1.
    pub(crate) fn from_der_any(der: &[u8]) -> Result<Self, String> {
        if let Ok(k) = rsa::PrivateKey::from_pkcs1_der(der) {
            return Ok(PrivKey::Rsa(Box::new(k)));
        }
        Self::from_pkcs8_der(der)
            .or_else(|_| Self::from_sec1_der(der))
            .map_err(|_| "failed to parse private key".to_string())
    }

    /// sprig `parsePrivateKeyPEM`: the first PEM block, typed `PRIVATE KEY` (PKCS#8),
    /// `RSA PRIVATE KEY` or `EC PRIVATE KEY`.
    pub(crate) fn from_sprig_pem(input: &[u8]) -> Result<Self, String> {
        let (block, _) = decode(input);
        let block = block.ok_or_else(|| "no PEM data in input".to_string())?;
        if block.typ == "PRIVATE KEY" {
            return Self::from_pkcs8_der(&block.bytes)
                .map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(kind) = block.typ.strip_suffix(" PRIVATE KEY") else {
            return Err("no private key data in PEM block".to_string());
        };
        match kind {
            "RSA" => rsa::PrivateKey::from_pkcs1_der(&block.bytes)
                .map(|k| PrivKey::Rsa(Box::new(k)))
                .map_err(|_| "parsing RSA private key from PEM failed".to_string()),
            "EC" => Self::from_sec1_der(&block.bytes)
                .map_err(|e| format!("parsing EC private key from PEM: {e}")),
            "DSA" => Err("DSA private keys are not supported by secretsync".to_string()),
            _ => Err("invalid private key type".to_string()),
        }
    }
}
