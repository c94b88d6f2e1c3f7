//! ESO's certificate helpers: `filterCertChain`, `certSANs`, and the chain ordering the
//! PKCS#12 readers share, following ESO's `fetchCertChains` (AuthorityKeyId → SubjectKeyId
//! links).

use der::Decode as _;
use der::oid::AssociatedOid as _;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectAltName, SubjectKeyIdentifier};

use super::keys::pem;
use super::pem::{decode, trim_junk};
use super::{FuncDef, P, arg_bytes, arg_str, f, m, str_list};
use crate::budget::Budget;
use crate::value::Value;

pub(crate) const FUNCS: &[FuncDef] = &[
    m(
        "filterCertChain",
        &[P::Str, P::Str],
        None,
        filter_cert_chain,
    ),
    f("certSANs", &[P::Str], None, cert_sans),
];

/// The PEM type of certificates.
pub(crate) const CERTIFICATE: &str = "CERTIFICATE";

/// The fields of a parsed certificate the chain functions need.
pub(crate) struct Cert {
    pub(crate) der: Vec<u8>,
    ski: Option<Vec<u8>>,
    aki: Option<Vec<u8>>,
    parsed: Certificate,
}

fn parse_cert(der: &[u8]) -> Result<Cert, String> {
    let parsed =
        Certificate::from_der(der).map_err(|_| "x509: malformed certificate".to_string())?;
    let mut ski = None;
    let mut aki = None;
    if let Some(exts) = parsed.tbs_certificate().extensions() {
        for ext in exts {
            if ext.extn_id == SubjectKeyIdentifier::OID {
                let v = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| "x509: invalid subject key identifier".to_string())?;
                ski = Some(v.0.as_bytes().to_vec());
            } else if ext.extn_id == AuthorityKeyIdentifier::OID {
                let v = AuthorityKeyIdentifier::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| "x509: invalid authority key identifier".to_string())?;
                aki = v.key_identifier.map(|k| k.as_bytes().to_vec());
            }
        }
    }
    Ok(Cert {
        der: der.to_vec(),
        ski,
        aki,
        parsed,
    })
}

/// Go's `bytes.Equal` on possibly-nil slices.
fn same(a: &Option<Vec<u8>>, b: &Option<Vec<u8>>) -> bool {
    a.as_deref().unwrap_or_default() == b.as_deref().unwrap_or_default()
}

/// ESO's `fetchX509CertChains`: leaf first, then its issuers. Linking compares every pair,
/// so the pairs are counted as evaluation steps.
pub(crate) fn ordered_chain(budget: &mut Budget, pem_data: &[u8]) -> Result<Vec<Cert>, String> {
    let mut certs = Vec::new();
    let mut data = pem_data;
    loop {
        let (block, rest) = decode(data);
        data = rest;
        let Some(block) = block else { break };
        certs.push(parse_cert(&block.bytes)?);
    }
    let n = certs.len();
    budget.step((n as u64).saturating_mul(n as u64))?;
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut is_parent = vec![false; n];
    for i in 0..n {
        for j in 0..n {
            if i != j && same(&certs[i].aki, &certs[j].ski) {
                is_parent[j] = true;
                parent[i] = Some(j);
                break;
            }
        }
    }
    let leaves: Vec<usize> = (0..n).filter(|i| !is_parent[*i]).collect();
    let leaf = match leaves.as_slice() {
        [l] => *l,
        [] => return Err("no leaf certificate found".into()),
        _ => return Err("found multiple leaf or disjunct certificates".into()),
    };
    let mut order = Vec::new();
    let mut cur = Some(leaf);
    while let Some(i) = cur {
        if order.len() >= n {
            return Err("constructing chain resulted in cycle".into());
        }
        order.push(i);
        cur = parent[i];
    }
    let mut slots: Vec<Option<Cert>> = certs.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

fn is_root(c: &Cert) -> bool {
    c.aki.is_none() || same(&c.aki, &c.ski)
}

fn filter_cert_chain(budget: &mut Budget, a: &[Value]) -> Result<Value, String> {
    let kind = arg_str(a, 0);
    let ordered = ordered_chain(budget, arg_bytes(a, 1))?;
    let Some(first) = ordered.first() else {
        return Err("no leaf certificate found".into());
    };
    let out = match &*kind {
        "leaf" if first.aki.is_some() && !same(&first.aki, &first.ski) => {
            pem(CERTIFICATE, &first.der)
        }
        "intermediate" => ordered[1..]
            .iter()
            .take_while(|c| !is_root(c))
            .flat_map(|c| pem(CERTIFICATE, &c.der))
            .collect(),
        "root" => match ordered.last() {
            Some(c) if is_root(c) => pem(CERTIFICATE, &c.der),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(Value::from(out))
}

/// ESO's `certSANs`: DNS names, then IP addresses, emails and URIs of the first certificate.
fn cert_sans(a: &[Value]) -> Result<Value, String> {
    let (block, _) = decode(trim_junk(arg_bytes(a, 0)));
    let block = block.ok_or_else(|| "failed to decode PEM block".to_string())?;
    let cert = parse_cert(&block.bytes).map_err(|e| format!("failed to parse certificate: {e}"))?;
    let (mut dns, mut ips, mut emails, mut uris) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    if let Some(exts) = cert.parsed.tbs_certificate().extensions() {
        for ext in exts.iter().filter(|e| e.extn_id == SubjectAltName::OID) {
            let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|_| {
                "failed to parse certificate: x509: invalid subject alternative names".to_string()
            })?;
            for name in san.0 {
                match name {
                    GeneralName::DnsName(s) => dns.push(s.to_string()),
                    GeneralName::Rfc822Name(s) => emails.push(s.to_string()),
                    GeneralName::UniformResourceIdentifier(s) => uris.push(s.to_string()),
                    GeneralName::IpAddress(o) => ips.push(go_ip_string(o.as_bytes())),
                    _ => {}
                }
            }
        }
    }
    Ok(str_list(
        dns.into_iter().chain(ips).chain(emails).chain(uris),
    ))
}

/// Go's `net.IP.String()`.
fn go_ip_string(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            let v6 = std::net::Ipv6Addr::from(a);
            match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            }
        }
        _ => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("?{hex}")
        }
    }
}
