//! ESO's PKCS#12 writers (runtime/template/v2/pkcs12.go): `pemToPkcs12[Pass]`,
//! `fullPemToPkcs12[Pass]`, `pemTruststoreToPKCS12[Pass]`, base64-encoded.
//!
//! The archive is laid out like go-pkcs12's `Modern` encoder: certificates in a PBES2
//! (PBKDF2-HMAC-SHA-256, AES-256-CBC, 2048 iterations) encrypted safe, the leaf with a
//! `localKeyId` attribute (SHA-1 of the leaf) and CA certificates without attributes; the
//! PKCS#8 key in a shrouded key bag with the same `localKeyId`; an HMAC-SHA-256 MAC
//! (2048 iterations). Trust stores carry Java's trusted-key-usage attribute on every bag.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::Decode as _;
use der::Encode as _;
use hmac::Mac as _;
use sha1::Digest as _;
use x509_cert::Certificate;

use super::keys::{PrivKey, parse_cost, tlv};
use super::pem::decode;
use super::{FuncDef, P, arg_bytes, arg_str, m};
use crate::budget::{Budget, cost};
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    m("pemToPkcs12", &[P::Str, P::Str], None, |b, a| {
        charge_archive(b, arg_bytes(a, 1))?;
        pem_to_pkcs12(arg_bytes(a, 0), arg_bytes(a, 1), "", false)
    }),
    m(
        "pemToPkcs12Pass",
        &[P::Str, P::Str, P::Str],
        None,
        |b, a| {
            charge_archive(b, arg_bytes(a, 1))?;
            pem_to_pkcs12(arg_bytes(a, 0), arg_bytes(a, 1), &arg_str(a, 2), false)
        },
    ),
    m("fullPemToPkcs12", &[P::Str, P::Str], None, |b, a| {
        charge_archive(b, arg_bytes(a, 1))?;
        pem_to_pkcs12(arg_bytes(a, 0), arg_bytes(a, 1), "", true)
    }),
    m(
        "fullPemToPkcs12Pass",
        &[P::Str, P::Str, P::Str],
        None,
        |b, a| {
            charge_archive(b, arg_bytes(a, 1))?;
            pem_to_pkcs12(arg_bytes(a, 0), arg_bytes(a, 1), &arg_str(a, 2), true)
        },
    ),
    m("pemTruststoreToPKCS12", &[P::Str], None, |b, a| {
        charge_archive(b, b"")?;
        truststore(arg_bytes(a, 0), "")
    }),
    m(
        "pemTruststoreToPKCS12Pass",
        &[P::Str, P::Str],
        None,
        |b, a| {
            charge_archive(b, b"")?;
            truststore(arg_bytes(a, 0), &arg_str(a, 1))
        },
    ),
];

/// An archive costs three key derivations (two encryptions and the MAC) plus parsing `key`.
fn charge_archive(budget: &mut Budget, key: &[u8]) -> Result<(), String> {
    budget.charge(3 * cost::kdf(u64::from(ITERATIONS)) + parse_cost(key.len()))
}

const ITERATIONS: u32 = 2048;
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const OID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
const OID_CERT_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
];
const OID_SHROUDED_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
];
const OID_X509_CERT: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const OID_LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// Oracle/Java trusted key usage (2.16.840.1.113894.746875.1.1).
const OID_JAVA_TRUST: &[u8] = &[
    0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01,
];
/// anyExtendedKeyUsage (2.5.29.37.0).
const OID_ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(body: &[u8]) -> Vec<u8> {
    tlv(0x06, body)
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| "pkcs12: no random data".to_string())?;
    Ok(b)
}

/// PBES2 encryption: (AlgorithmIdentifier DER, ciphertext).
fn encrypt(password: &str, data: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let salt = random::<16>()?;
    let iv = random::<16>()?;
    let params = pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(ITERATIONS, &salt, iv)
        .map_err(|_| "pkcs12: bad encryption parameters".to_string())?;
    let ct = params
        .encrypt(password.as_bytes(), data)
        .map_err(|_| "pkcs12: encryption failed".to_string())?;
    let alg = pkcs5::EncryptionScheme::from(params)
        .to_der()
        .map_err(|_| "pkcs12: encoding failed".to_string())?;
    Ok((alg, ct))
}

fn attributes(attrs: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &attrs.concat())
}

fn local_key_id(id: &[u8]) -> Vec<u8> {
    seq(&[&oid(OID_LOCAL_KEY_ID), &tlv(0x31, &tlv(0x04, id))])
}

fn cert_bag(cert_der: &[u8], attrs: Option<Vec<u8>>) -> Vec<u8> {
    let value = seq(&[&oid(OID_X509_CERT), &tlv(0xa0, &tlv(0x04, cert_der))]);
    let mut parts = vec![oid(OID_CERT_BAG), tlv(0xa0, &value)];
    parts.extend(attrs);
    tlv(0x30, &parts.concat())
}

/// ContentInfo(encryptedData) holding the encrypted SafeContents.
fn encrypted_safe(bags: &[Vec<u8>], password: &str) -> Result<Vec<u8>, String> {
    let (alg, ct) = encrypt(password, &seq(&[&bags.concat()]))?;
    let eci = seq(&[&oid(OID_DATA), &alg, &tlv(0x80, &ct)]);
    let encrypted_data = seq(&[&[0x02, 0x01, 0x00], &eci]);
    Ok(seq(&[
        &oid(OID_ENCRYPTED_DATA),
        &tlv(0xa0, &encrypted_data),
    ]))
}

/// ContentInfo(data) holding plain SafeContents.
fn data_safe(bags: &[Vec<u8>]) -> Vec<u8> {
    seq(&[
        &oid(OID_DATA),
        &tlv(0xa0, &tlv(0x04, &seq(&[&bags.concat()]))),
    ])
}

/// The PFX around the AuthenticatedSafe, with an HMAC-SHA-256 MAC.
fn pfx(safes: &[Vec<u8>], password: &str) -> Result<Vec<u8>, String> {
    let auth_safe = seq(&[&safes.concat()]);
    let salt = random::<16>()?;
    let key = pkcs12::kdf::derive_key_utf8::<rsa::sha2::Sha256>(
        password,
        &salt,
        pkcs12::kdf::Pkcs12KeyType::Mac,
        ITERATIONS as i32,
        32,
    )
    .map_err(|_| "pkcs12: the password cannot be encoded as BMPString".to_string())?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key)
        .map_err(|_| "pkcs12: mac key".to_string())?;
    mac.update(&auth_safe);
    let digest = mac.finalize().into_bytes();
    let mac_data = seq(&[
        &seq(&[
            &seq(&[&oid(OID_SHA256), &[0x05, 0x00]]),
            &tlv(0x04, &digest),
        ]),
        &tlv(0x04, &salt),
        &tlv(0x02, &[0x08, 0x00]),
    ]);
    let content_info = seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &auth_safe))]);
    let out = seq(&[&[0x02, 0x01, 0x03], &content_info, &mac_data]);
    Ok(out)
}

/// Certificates of a PEM bundle (ESO `parseCaCerts`; stops at the first non-PEM rest).
fn parse_certs(mut rest: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let (block, after) = decode(rest);
        let Some(block) = block else { break };
        Certificate::from_der(&block.bytes)
            .map_err(|_| "x509: malformed certificate".to_string())?;
        out.push(block.bytes.clone());
        rest = after;
    }
    Ok(out)
}

fn pem_to_pkcs12(cert: &[u8], key: &[u8], password: &str, full: bool) -> Result<Value, String> {
    let (block, rest) = decode(cert);
    let leaf = block
        .ok_or_else(|| "failed to decode PEM block containing the certificate".to_string())?
        .bytes
        .clone();
    Certificate::from_der(&leaf).map_err(|_| "x509: malformed certificate".to_string())?;
    let cas = if full { parse_certs(rest)? } else { Vec::new() };
    let (key_block, _) = decode(key);
    let key_block = key_block
        .ok_or_else(|| "failed to decode PEM block containing the private key".to_string())?;
    let pkcs8 = zeroize::Zeroizing::new(PrivKey::from_der_any(&key_block.bytes)?.to_pkcs8_der()?);
    let id = sha1::Sha1::digest(&leaf).to_vec();
    let mut cert_bags = vec![cert_bag(&leaf, Some(attributes(&[local_key_id(&id)])))];
    cert_bags.extend(cas.iter().map(|c| cert_bag(c, None)));
    let (alg, ct) = encrypt(password, &pkcs8)?;
    let epki = seq(&[&alg, &tlv(0x04, &ct)]);
    let key_bag = seq(&[
        &oid(OID_SHROUDED_KEY_BAG),
        &tlv(0xa0, &epki),
        &attributes(&[local_key_id(&id)]),
    ]);
    let out = pfx(
        &[encrypted_safe(&cert_bags, password)?, data_safe(&[key_bag])],
        password,
    )?;
    Ok(Value::from(STANDARD.encode(out)))
}

fn truststore(certs: &[u8], password: &str) -> Result<Value, String> {
    let trust = seq(&[&oid(OID_JAVA_TRUST), &tlv(0x31, &oid(OID_ANY_EKU))]);
    let bags: Vec<Vec<u8>> = parse_certs(certs)?
        .iter()
        .map(|c| cert_bag(c, Some(attributes(std::slice::from_ref(&trust)))))
        .collect();
    let out = pfx(&[encrypted_safe(&bags, password)?], password)?;
    Ok(Value::from(STANDARD.encode(out)))
}
