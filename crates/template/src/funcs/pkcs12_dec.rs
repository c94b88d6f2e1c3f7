//! ESO's PKCS#12 readers: `pkcs12key[Pass]`, `pkcs12cert[Pass]`, decoding like go-pkcs12's
//! `DecodeChain`: exactly one private key bag; the certificate bag carrying attributes is the
//! leaf, the others are CA certificates. MAC (SHA-1/SHA-2 HMAC), PBES2 (PBKDF2 or scrypt
//! with AES-CBC) and the legacy PBES1 schemes (SHA-1 with 3DES or 40-bit RC2) are read.
//!
//! Key derivation is the expensive part and its iteration counts come from the archive: each
//! derivation is charged against the render's budget, with its own count, before it runs.

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt as _, KeyIvInit as _};
use der::asn1::{ContextSpecific, OctetString};
use der::oid::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use hmac::Mac as _;
use pkcs12::kdf::{Pkcs12KeyType, derive_key_utf8};
use zeroize::Zeroizing;

use super::x509::{CERTIFICATE, ordered_chain};
use super::{FuncDef, P, arg_bytes, arg_str, m};
use crate::budget::{Budget, cost};
use crate::funcs::keys::pem;
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    m("pkcs12key", &[P::Str], None, |b, a| {
        pkcs12_key(b, "", arg_bytes(a, 0))
    }),
    m("pkcs12keyPass", &[P::Str, P::Str], None, |b, a| {
        pkcs12_key(b, &arg_str(a, 0), arg_bytes(a, 1))
    }),
    m("pkcs12cert", &[P::Str], None, |b, a| {
        pkcs12_cert(b, "", arg_bytes(a, 0))
    }),
    m("pkcs12certPass", &[P::Str, P::Str], None, |b, a| {
        pkcs12_cert(b, &arg_str(a, 0), arg_bytes(a, 1))
    }),
];

const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const OID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const OID_KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const OID_SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const OID_CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const OID_X509_CERT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const OID_PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const OID_PBE_SHA_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const OID_PBE_SHA_RC2_40: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Largest archive read (real keystores with a chain are a few KiB).
const MAX_ARCHIVE_BYTES: usize = 1 << 20;
/// Most iterations one key derivation may ask for (go-pkcs12 and OpenSSL write 2048).
const MAX_ITERATIONS: u64 = 10_000_000;

/// go-pkcs12 `DecodeChain`: (PKCS#8 key DER, leaf DER, CA DERs).
struct Decoded {
    key: Zeroizing<Vec<u8>>,
    leaf: Vec<u8>,
    cas: Vec<Vec<u8>>,
}

fn invalid(what: &str) -> String {
    format!("unable to decode pkcs12{what} with password: invalid archive or wrong password")
}

fn decode_chain(
    budget: &mut Budget,
    pass: &str,
    input: &[u8],
    what: &str,
) -> Result<Decoded, String> {
    if input.len() > MAX_ARCHIVE_BYTES {
        return Err(format!(
            "unable to decode pkcs12{what}: the archive is larger than {MAX_ARCHIVE_BYTES} bytes"
        ));
    }
    let bad = |_| invalid(what);
    let pfx = pkcs12::pfx::Pfx::from_der(input).map_err(bad)?;
    if pfx.auth_safe.content_type != OID_DATA {
        return Err(invalid(what));
    }
    let auth_safe =
        OctetString::from_der(&pfx.auth_safe.content.to_der().map_err(bad)?).map_err(bad)?;
    if let Some(mac) = &pfx.mac_data {
        verify_mac(budget, mac, pass, auth_safe.as_bytes())
            .map_err(|e| e.unwrap_or_else(|| invalid(what)))?;
    }
    let safes = <Vec<pkcs12::cms::content_info::ContentInfo>>::from_der(auth_safe.as_bytes())
        .map_err(bad)?;
    let mut keys: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    let mut leaf = None;
    let mut cas = Vec::new();
    for safe in safes {
        let content = safe.content.to_der().map_err(bad)?;
        let contents = if safe.content_type == OID_DATA {
            Zeroizing::new(
                OctetString::from_der(&content)
                    .map_err(bad)?
                    .as_bytes()
                    .to_vec(),
            )
        } else if safe.content_type == OID_ENCRYPTED_DATA {
            let data =
                pkcs12::cms::encrypted_data::EncryptedData::from_der(&content).map_err(bad)?;
            let info = data.enc_content_info;
            let Some(ciphertext) = info.encrypted_content else {
                continue;
            };
            decrypt(budget, &info.content_enc_alg, ciphertext.as_bytes(), pass)
                .map_err(|e| e.unwrap_or_else(|| invalid(what)))?
        } else {
            return Err(invalid(what));
        };
        let bags = <Vec<pkcs12::SafeBag>>::from_der(&contents).map_err(bad)?;
        for bag in bags {
            if bag.bag_id == OID_CERT_BAG {
                let cs: ContextSpecific<pkcs12::CertBag> =
                    ContextSpecific::from_der(&bag.bag_value).map_err(bad)?;
                if cs.value.cert_id != OID_X509_CERT {
                    return Err(invalid(what));
                }
                let der = cs.value.cert_value.as_bytes().to_vec();
                if bag.bag_attributes.is_some_and(|a| !a.is_empty()) {
                    leaf = Some(der);
                } else {
                    cas.push(der);
                }
            } else if bag.bag_id == OID_KEY_BAG {
                let cs: ContextSpecific<der::Any> =
                    ContextSpecific::from_der(&bag.bag_value).map_err(bad)?;
                keys.push(Zeroizing::new(cs.value.to_der().map_err(bad)?));
            } else if bag.bag_id == OID_SHROUDED_KEY_BAG {
                let cs: ContextSpecific<pkcs12::pbe_params::EncryptedPrivateKeyInfo> =
                    ContextSpecific::from_der(&bag.bag_value).map_err(bad)?;
                let info = cs.value;
                keys.push(
                    decrypt(
                        budget,
                        &info.encryption_algorithm,
                        info.encrypted_data.as_bytes(),
                        pass,
                    )
                    .map_err(|e| e.unwrap_or_else(|| invalid(what)))?,
                );
            }
        }
    }
    let key = match keys.len() {
        1 => keys.remove(0),
        0 => {
            return Err(format!(
                "unable to decode pkcs12{what} with password: pkcs12: private key missing"
            ));
        }
        _ => {
            return Err(format!(
                "unable to decode pkcs12{what} with password: pkcs12: expected exactly one key bag"
            ));
        }
    };
    let leaf = leaf.ok_or_else(|| {
        format!("unable to decode pkcs12{what} with password: pkcs12: certificate missing")
    })?;
    Ok(Decoded { key, leaf, cas })
}

/// Charges a key derivation of `iterations` rounds; `Some(message)` for a count out of range.
fn charge_kdf(budget: &mut Budget, iterations: u64) -> Result<(), Option<String>> {
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(Some(format!(
            "pkcs12: key derivation iteration count out of range (1 to {MAX_ITERATIONS})"
        )));
    }
    budget.charge(cost::kdf(iterations)).map_err(Some)
}

/// Verifies the archive's HMAC; `Err(None)` for a wrong password or a malformed MAC.
fn verify_mac(
    budget: &mut Budget,
    mac: &pkcs12::MacData,
    pass: &str,
    data: &[u8],
) -> Result<(), Option<String>> {
    charge_kdf(budget, u64::try_from(mac.iterations).unwrap_or(0))?;
    let salt = mac.mac_salt.as_bytes();
    let rounds = mac.iterations;
    let expected = mac.mac.digest.as_bytes();
    let alg = mac.mac.algorithm.oid;
    macro_rules! check {
        ($kdf:ty, $hmac:ty, $len:expr) => {{
            let key = Zeroizing::new(
                derive_key_utf8::<$kdf>(pass, salt, Pkcs12KeyType::Mac, rounds, $len)
                    .map_err(|_| None)?,
            );
            let mut h = <hmac::Hmac<$hmac>>::new_from_slice(&key).map_err(|_| None)?;
            h.update(data);
            h.verify_slice(expected).map_err(|_| None)
        }};
    }
    if alg == OID_SHA1 {
        check!(sha1_v011::Sha1, sha1::Sha1, 20)
    } else if alg == OID_SHA256 {
        check!(rsa::sha2::Sha256, sha2::Sha256, 32)
    } else if alg == OID_SHA384 {
        check!(rsa::sha2::Sha384, sha2::Sha384, 48)
    } else if alg == OID_SHA512 {
        check!(rsa::sha2::Sha512, sha2::Sha512, 64)
    } else {
        Err(Some("pkcs12: unsupported MAC algorithm".to_string()))
    }
}

/// Decrypts one encrypted safe or shrouded key; `Err(None)` for a wrong password or
/// malformed data.
fn decrypt(
    budget: &mut Budget,
    alg: &x509_cert::spki::AlgorithmIdentifierOwned,
    data: &[u8],
    pass: &str,
) -> Result<Zeroizing<Vec<u8>>, Option<String>> {
    let params = alg
        .parameters
        .as_ref()
        .ok_or(None)?
        .to_der()
        .map_err(|_| None)?;
    if alg.oid == OID_PBES2 {
        let params = pkcs5::pbes2::Parameters::from_der(&params).map_err(|_| None)?;
        match &params.kdf {
            pkcs5::pbes2::Kdf::Pbkdf2(p) => charge_kdf(budget, u64::from(p.iteration_count))?,
            pkcs5::pbes2::Kdf::Scrypt(s) => {
                // scrypt costs N·r·p block operations and N·r·128 bytes of memory.
                let (n, r) = (s.cost_parameter, u64::from(s.block_size));
                if n.saturating_mul(r) > 1 << 18 {
                    return Err(Some("pkcs12: scrypt parameters out of range".to_string()));
                }
                let work = n
                    .saturating_mul(r)
                    .saturating_mul(u64::from(s.parallelization));
                budget.charge(cost::kdf(work / 16)).map_err(Some)?;
            }
            _ => return Err(Some("pkcs12: unsupported key derivation".to_string())),
        }
        return params
            .decrypt(pass.as_bytes(), data)
            .map(Zeroizing::new)
            .map_err(|_| None);
    }
    let pbe = pkcs12::pbe_params::Pkcs12PbeParams::from_der(&params).map_err(|_| None)?;
    let iterations = pbe.iterations;
    charge_kdf(budget, u64::try_from(iterations).unwrap_or(0))?;
    let salt = pbe.salt.as_bytes();
    let derive = |kind, len| {
        derive_key_utf8::<sha1_v011::Sha1>(pass, salt, kind, iterations, len)
            .map(Zeroizing::new)
            .map_err(|_| None)
    };
    let plain = if alg.oid == OID_PBE_SHA_3DES {
        let (key, iv) = (
            derive(Pkcs12KeyType::EncryptionKey, 24)?,
            derive(Pkcs12KeyType::Iv, 8)?,
        );
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| None)?
            .decrypt_padded_vec::<Pkcs7>(data)
    } else if alg.oid == OID_PBE_SHA_RC2_40 {
        let (key, iv) = (
            derive(Pkcs12KeyType::EncryptionKey, 5)?,
            derive(Pkcs12KeyType::Iv, 8)?,
        );
        cbc::Decryptor::<rc2::Rc2>::new_from_slices(&key, &iv)
            .map_err(|_| None)?
            .decrypt_padded_vec::<Pkcs7>(data)
    } else {
        return Err(Some("pkcs12: unsupported encryption algorithm".to_string()));
    };
    plain.map(Zeroizing::new).map_err(|_| None)
}

/// The leaf certificate's DER of an archive without password, decoded under the default
/// template limits (for [`super::material::leaf_certificate`]).
pub(crate) fn leaf_without_password(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut budget = Budget::new(crate::Limits::default());
    decode_chain(&mut budget, "", input, " certificate").map(|d| d.leaf)
}

fn pkcs12_key(budget: &mut Budget, pass: &str, input: &[u8]) -> Result<Value, String> {
    let decoded = decode_chain(budget, pass, input, "")?;
    Ok(Value::from(pem("PRIVATE KEY", &decoded.key)))
}

fn pkcs12_cert(budget: &mut Budget, pass: &str, input: &[u8]) -> Result<Value, String> {
    let Decoded { leaf, cas, .. } = decode_chain(budget, pass, input, " certificate")?;
    let mut unordered = pem(CERTIFICATE, &leaf);
    for ca in &cas {
        unordered.extend(pem(CERTIFICATE, ca));
    }
    // ESO orders the chain when it can and falls back to the unordered PEM.
    match ordered_chain(budget, &unordered) {
        Ok(chain) => Ok(Value::from(
            chain
                .iter()
                .flat_map(|c| pem(CERTIFICATE, &c.der))
                .collect::<Vec<u8>>(),
        )),
        Err(_) => Ok(Value::from(unordered)),
    }
}
