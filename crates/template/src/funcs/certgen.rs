//! sprig's certificate functions: `genCA`, `genCAWithKey`, `genSelfSignedCert`,
//! `genSelfSignedCertWithKey`, `genSignedCert`, `genSignedCertWithKey`, `buildCustomCert`.
//!
//! The result is sprig's `certificate` object, a map with the PEM strings `Cert` and `Key`
//! (`{{ $ca.Cert }}`). Certificates follow Go's `x509.CreateCertificate` for sprig's
//! template: v3, random 128-bit serial, subject `CN=<cn>`, validity now → now + days,
//! extensions in Go's order: key usage (critical), extended key usage (server + client
//! auth), basic constraints (critical), subject key id (CAs: SHA-1 of the public key),
//! authority key id (signed certificates), subject alternative names. Signatures:
//! SHA256WithRSA, ECDSA with SHA-256 (P-256) / SHA-384 (P-384), Ed25519.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::asn1::{Ia5String, OctetString};
use der::{Decode as _, Encode as _};
use sha1::Digest as _;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder as _, CertificateBuilder};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use super::keys::{PrivKey, parse_cost, pem, tlv};
use super::pem::decode;
use super::{FuncDef, P, arg_bytes, arg_int, arg_str, m};
use crate::budget::cost;
use crate::value::{Map, Value};

const CN_S_I: &[P] = &[P::Str, P::Int];
const CERT_ARGS: &[P] = &[P::Str, P::List, P::List, P::Int];

pub(crate) const FUNCS: &[FuncDef] = &[
    // sprig returns problems as the result text ("Unknown type X"); sprig's DSA keys are
    // not supported and fail instead.
    m("genPrivateKey", &[P::Str], None, |b, a| {
        let typ = arg_str(a, 0);
        match &*typ {
            "dsa" => {
                return Err("genPrivateKey: DSA keys are not supported by secretsync".to_string());
            }
            "" | "rsa" => b.charge(cost::rsa_keygen(4096))?,
            _ => b.charge(cost::EC_KEY)?,
        }
        match PrivKey::generate(&typ) {
            Ok(k) => k.to_sprig_pem().map(Value::from),
            Err(msg) => Ok(Value::from(msg)),
        }
    }),
    m("buildCustomCert", &[P::Str, P::Str], None, |b, a| {
        b.charge(parse_cost(arg_bytes(a, 1).len()))?;
        build_custom_cert(arg_bytes(a, 0), arg_bytes(a, 1))
    }),
    m("genCA", CN_S_I, None, |b, a| {
        b.charge(cost::rsa_keygen(2048) + cost::rsa_private_op(2048))?;
        let key = PrivKey::generate_rsa(2048)?;
        gen_ca(&arg_str(a, 0), arg_int(a, 1), &key)
    }),
    m("genCAWithKey", &[P::Str, P::Int, P::Str], None, |b, a| {
        b.charge(2 * parse_cost(arg_bytes(a, 2).len()))?;
        let key = PrivKey::from_sprig_pem(arg_bytes(a, 2))
            .map_err(|e| format!("parsing private key: {e}"))?;
        gen_ca(&arg_str(a, 0), arg_int(a, 1), &key)
    }),
    m("genSelfSignedCert", CERT_ARGS, None, |b, a| {
        b.charge(cost::rsa_keygen(2048) + cost::rsa_private_op(2048))?;
        let key = PrivKey::generate_rsa(2048)?;
        gen_self_signed(a, &key)
    }),
    m(
        "genSelfSignedCertWithKey",
        &[P::Str, P::List, P::List, P::Int, P::Str],
        None,
        |b, a| {
            b.charge(2 * parse_cost(arg_bytes(a, 4).len()))?;
            let key = PrivKey::from_sprig_pem(arg_bytes(a, 4))
                .map_err(|e| format!("parsing private key: {e}"))?;
            gen_self_signed(a, &key)
        },
    ),
    m(
        "genSignedCert",
        &[P::Str, P::List, P::List, P::Int, P::Any],
        None,
        |b, a| {
            b.charge(cost::rsa_keygen(2048) + 2 * parse_cost(ca_key_len(&a[4])))?;
            let key = PrivKey::generate_rsa(2048)?;
            gen_signed(a, &key)
        },
    ),
    m(
        "genSignedCertWithKey",
        &[P::Str, P::List, P::List, P::Int, P::Any, P::Str],
        None,
        |b, a| {
            b.charge(parse_cost(arg_bytes(a, 5).len()) + 2 * parse_cost(ca_key_len(&a[4])))?;
            let key = PrivKey::from_sprig_pem(arg_bytes(a, 5))
                .map_err(|e| format!("parsing private key: {e}"))?;
            gen_signed(a, &key)
        },
    ),
];

/// Length of the `Key` of a CA object (what signing with it parses).
fn ca_key_len(ca: &Value) -> usize {
    ca.as_map()
        .and_then(|m| m.get("Key"))
        .and_then(Value::as_bytes)
        .map_or(0, <[u8]>::len)
}

/// sprig's `certificate{Cert, Key}` as a template value.
fn cert_object(cert: Vec<u8>, key: Vec<u8>) -> Value {
    let mut m = Map::new();
    m.insert("Cert".to_string(), Value::from(cert));
    m.insert("Key".to_string(), Value::from(key));
    Value::from(m)
}

fn build_custom_cert(b64cert: &[u8], b64key: &[u8]) -> Result<Value, String> {
    let cert = STANDARD
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = STANDARD
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key".to_string())?;
    let (block, _) = decode(&cert);
    let block = block.ok_or_else(|| "unable to decode certificate".to_string())?;
    Certificate::from_der(&block.bytes)
        .map_err(|_| "error parsing certificate: decodedCert.Bytes: malformed certificate")?;
    PrivKey::from_sprig_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_object(cert, key))
}

/// The certificate template fields sprig sets.
struct Template {
    subject: Name,
    ips: Vec<IpAddr>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// Go `pkix.Name{CommonName: cn}`: no attribute for an empty name; PrintableString when
/// the value allows it, UTF8String otherwise (encoding/asn1's choice).
fn common_name(cn: &str) -> Result<Name, String> {
    let printable = cn
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*".contains(&b));
    let der = if cn.is_empty() {
        tlv(0x30, &[])
    } else {
        let mut atv = vec![0x06, 0x03, 0x55, 0x04, 0x03];
        atv.extend(tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes()));
        tlv(0x30, &tlv(0x31, &tlv(0x30, &atv)))
    };
    Name::from_der(&der).map_err(|_| "error encoding subject name".to_string())
}

fn ips(v: &Value) -> Result<Vec<IpAddr>, String> {
    let Value::List(list) = v else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|ip| {
            let s = ip
                .as_str()
                .ok_or_else(|| "error parsing ip: not a string".to_string())?;
            parse_go_ip(&s).ok_or_else(|| "error parsing ip: invalid IP address".to_string())
        })
        .collect()
}

/// Go `net.ParseIP`: dotted IPv4 (no leading zeros) or IPv6 text.
fn parse_go_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok()
}

fn dns_names(v: &Value) -> Result<Vec<String>, String> {
    let Value::List(list) = v else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|d| {
            d.as_str()
                .map(|s| s.into_owned())
                .ok_or_else(|| "error processing alternate dns name: not a string".to_string())
        })
        .collect()
}

/// The extensions Go's `CreateCertificate` writes for sprig's template.
struct Profile {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn ext(
    oid: der::oid::ObjectIdentifier,
    critical: bool,
    value: &impl der::Encode,
) -> Result<Extension, String> {
    let der = value
        .to_der()
        .map_err(|_| "error encoding extension".to_string())?;
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(der).map_err(|_| "error encoding extension".to_string())?,
    })
}

/// SHA-1 of the subjectPublicKey bits (Go's generated SubjectKeyId).
fn key_id(spki_der: &[u8]) -> Result<Vec<u8>, String> {
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
        .map_err(|_| "error reading public key".to_string())?;
    Ok(sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec())
}

/// Go `x509.CreateCertificate(rand, template, parent, pub(signee), signer)` + PEM.
fn create(
    t: &Template,
    signee: &PrivKey,
    parent: Option<&Certificate>,
    signer: &PrivKey,
) -> Result<Value, String> {
    use der::oid::db::rfc5280 as oids;
    use der::oid::db::rfc5912;
    let spki_der = signee.public_spki_der()?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der)
        .map_err(|_| "error reading public key".to_string())?;
    let mut usage = KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment;
    if t.is_ca {
        usage |= KeyUsages::KeyCertSign;
    }
    let mut extensions = vec![
        ext(oids::ID_CE_KEY_USAGE, true, &KeyUsage(usage))?,
        ext(
            oids::ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![rfc5912::ID_KP_SERVER_AUTH, rfc5912::ID_KP_CLIENT_AUTH]),
        )?,
        ext(
            oids::ID_CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: t.is_ca,
                path_len_constraint: None,
            },
        )?,
    ];
    if t.is_ca {
        let id = OctetString::new(key_id(&spki_der)?).map_err(|e| e.to_string())?;
        extensions.push(ext(oids::ID_CE_SUBJECT_KEY_IDENTIFIER, false, &id)?);
    }
    let issuer = match parent {
        Some(p) => {
            let parent_ski = p.tbs_certificate().extensions().and_then(|exts| {
                exts.iter()
                    .find(|e| e.extn_id == oids::ID_CE_SUBJECT_KEY_IDENTIFIER)
                    .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
            });
            if let Some(ski) = parent_ski
                && p.tbs_certificate().subject() != &t.subject
            {
                let aki = AuthorityKeyIdentifier {
                    key_identifier: Some(ski),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                };
                extensions.push(ext(oids::ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)?);
            }
            p.tbs_certificate().subject().clone()
        }
        None => t.subject.clone(),
    };
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names = Vec::new();
        for d in &t.dns {
            names.push(GeneralName::DnsName(
                Ia5String::new(d).map_err(|_| "invalid DNS name (not ASCII)".to_string())?,
            ));
        }
        for ip in &t.ips {
            let bytes = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            names.push(GeneralName::IpAddress(
                OctetString::new(bytes).map_err(|e| e.to_string())?,
            ));
        }
        extensions.push(ext(
            oids::ID_CE_SUBJECT_ALT_NAME,
            false,
            &SubjectAltName(names),
        )?);
    }
    let now = SystemTime::now();
    let days = u64::try_from(t.days).unwrap_or(0);
    let not_after = if t.days >= 0 {
        now + Duration::from_secs(days.saturating_mul(86_400))
    } else {
        now - Duration::from_secs(t.days.unsigned_abs().saturating_mul(86_400))
    };
    let validity = Validity::new(
        Time::try_from(now).map_err(|_| "error creating certificate: bad time".to_string())?,
        Time::try_from(not_after)
            .map_err(|_| "error creating certificate: validity out of range".to_string())?,
    );
    let mut serial = [0u8; 17];
    getrandom::fill(&mut serial[1..]).map_err(|_| "no random data".to_string())?;
    let start = serial[1..]
        .iter()
        .position(|b| *b != 0)
        .map_or(16, |i| i + 1);
    let start = if serial[start] & 0x80 != 0 {
        start - 1
    } else {
        start
    };
    let serial = SerialNumber::new(&serial[start..]).map_err(|e| e.to_string())?;
    let profile = Profile {
        subject: t.subject.clone(),
        issuer,
        extensions,
    };
    let builder = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| format!("error creating certificate: {e}"))?;
    let fail = |e: x509_cert::builder::Error| format!("error creating certificate: {e}");
    let cert = match signer {
        PrivKey::Rsa(k) => {
            let s = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new((**k).clone());
            builder
                .build::<_, rsa::pkcs1v15::Signature>(&s)
                .map_err(fail)?
        }
        PrivKey::P256(k) => {
            let s = p256::ecdsa::SigningKey::from(k.clone());
            builder
                .build::<_, p256::ecdsa::DerSignature>(&s)
                .map_err(fail)?
        }
        PrivKey::P384(k) => {
            let s = p384::ecdsa::SigningKey::from(k.clone());
            builder
                .build::<_, p384::ecdsa::DerSignature>(&s)
                .map_err(fail)?
        }
        PrivKey::Ed25519(k) => builder
            .build::<_, ed25519_dalek::Signature>(k.as_ref())
            .map_err(fail)?,
    };
    let der = cert
        .to_der()
        .map_err(|_| "error pem-encoding certificate".to_string())?;
    Ok(cert_object(
        pem("CERTIFICATE", &der),
        signee.to_sprig_pem()?,
    ))
}

fn gen_ca(cn: &str, days: i64, key: &PrivKey) -> Result<Value, String> {
    let t = Template {
        subject: common_name(cn)?,
        ips: Vec::new(),
        dns: Vec::new(),
        days,
        is_ca: true,
    };
    create(&t, key, None, key)
}

fn template_from(a: &[Value]) -> Result<Template, String> {
    Ok(Template {
        subject: common_name(&arg_str(a, 0))?,
        ips: ips(&a[1])?,
        dns: dns_names(&a[2])?,
        days: arg_int(a, 3),
        is_ca: false,
    })
}

fn gen_self_signed(a: &[Value], key: &PrivKey) -> Result<Value, String> {
    let t = template_from(a)?;
    create(&t, key, None, key)
}

fn gen_signed(a: &[Value], key: &PrivKey) -> Result<Value, String> {
    let t = template_from(a)?;
    let ca = a[4].as_map().ok_or_else(|| {
        "wrong type for value; expected the certificate object of genCA".to_string()
    })?;
    let field = |name: &str| {
        ca.get(name)
            .and_then(Value::as_bytes)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("the CA object has no {name} string (use the result of genCA)"))
    };
    let (ca_cert, ca_key) = (field("Cert")?, field("Key")?);
    let (block, _) = decode(&ca_cert);
    let block = block.ok_or_else(|| "unable to decode certificate".to_string())?;
    let parent = Certificate::from_der(&block.bytes)
        .map_err(|_| "error parsing certificate: decodedSignerCert.Bytes: malformed certificate")?;
    let signer =
        PrivKey::from_sprig_pem(&ca_key).map_err(|e| format!("error parsing private key: {e}"))?;
    create(&t, key, Some(&parent), &signer)
}
