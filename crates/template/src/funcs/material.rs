//! Key and certificate material for callers outside templates, built on the template
//! functions' parsers (one PEM/PKCS#8/SEC1/PKCS#12 implementation in the workspace): the
//! Azure provider's PushSecret to Key Vault keys (PEM private key → JWK, as ESO's
//! `getKeyFromValue`) and certificates (leaf certificate of a PKCS#12, DER or PEM value, as
//! ESO's `getCertificateFromValue`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use der::Decode as _;
use p256::elliptic_curve::sec1::ToSec1Point as _;
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
use zeroize::Zeroizing;

use super::keys::PrivKey;
use super::pem::decode;

/// A private JSON Web Key: `kty`, `crv` and base64url members (`n`, `e`, `d`, … or `k`).
/// Its `Debug` names the members only; the values are zeroized on drop.
pub struct PrivateJwk {
    members: Vec<(&'static str, Zeroizing<String>)>,
}

impl std::fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("kty", &self.get("kty"))
            .field(
                "members",
                &self.members.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PrivateJwk {
    /// The members in RFC 7517/7518 order.
    pub fn members(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.members.iter().map(|(n, v)| (*n, v.as_str()))
    }

    /// One member's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn push(&mut self, name: &'static str, value: String) {
        self.members.push((name, Zeroizing::new(value)));
    }

    fn push_bytes(&mut self, name: &'static str, bytes: &[u8]) {
        self.push(name, URL_SAFE_NO_PAD.encode(bytes));
    }

    /// `kty: EC` with the curve, the public point's coordinates and the private scalar.
    fn push_ec(
        &mut self,
        crv: &str,
        x: Option<&[u8]>,
        y: Option<&[u8]>,
        d: &[u8],
    ) -> Result<(), String> {
        let (Some(x), Some(y)) = (x, y) else {
            return Err("invalid EC public key".into());
        };
        self.push("kty", "EC".into());
        self.push("crv", crv.into());
        self.push_bytes("x", x);
        self.push_bytes("y", y);
        self.push_bytes("d", d);
        Ok(())
    }
}

/// ESO `getKeyFromValue`: a PEM private key (`PRIVATE KEY`, `RSA PRIVATE KEY`,
/// `EC PRIVATE KEY`) becomes an RSA or EC JWK; a value without PEM data is a symmetric key
/// (`kty: oct`). Ed25519 keys are refused (Key Vault holds RSA, EC and oct keys only).
pub fn private_key_jwk(value: &[u8]) -> Result<PrivateJwk, String> {
    let mut jwk = PrivateJwk {
        members: Vec::new(),
    };
    if decode(value).0.is_none() {
        jwk.push("kty", "oct".into());
        jwk.push_bytes("k", value);
        return Ok(jwk);
    }
    match PrivKey::from_sprig_pem(value)? {
        PrivKey::Rsa(k) => {
            let (Some(dp), Some(dq), Some(qi), [p, q]) =
                (k.dp(), k.dq(), k.crt_coefficient(), k.primes())
            else {
                return Err("RSA keys with more than two primes are not supported".into());
            };
            jwk.push("kty", "RSA".into());
            jwk.push_bytes("n", &k.n().to_be_bytes_trimmed_vartime());
            jwk.push_bytes("e", &k.e().to_be_bytes_trimmed_vartime());
            for (name, v) in [
                ("d", k.d()),
                ("p", p.as_ref()),
                ("q", q.as_ref()),
                ("dp", dp),
                ("dq", dq),
                ("qi", &qi),
            ] {
                let bytes = Zeroizing::new(v.to_be_bytes_trimmed_vartime());
                jwk.push_bytes(name, &bytes);
            }
        }
        PrivKey::P256(k) => {
            let point = k.public_key().to_sec1_point(false);
            jwk.push_ec(
                "P-256",
                point.x().map(|a| a.as_slice()),
                point.y().map(|a| a.as_slice()),
                &Zeroizing::new(k.to_bytes()),
            )?;
        }
        PrivKey::P384(k) => {
            let point = k.public_key().to_sec1_point(false);
            jwk.push_ec(
                "P-384",
                point.x().map(|a| a.as_slice()),
                point.y().map(|a| a.as_slice()),
                &Zeroizing::new(k.to_bytes()),
            )?;
        }
        PrivKey::Ed25519(_) => {
            return Err("Ed25519 keys are not supported (RSA, EC P-256/P-384 or oct)".into());
        }
    }
    Ok(jwk)
}

/// How a certificate value was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFormat {
    /// A PKCS#12 archive without password.
    Pkcs12,
    /// One DER certificate.
    Der,
    /// PEM blocks (certificates and key).
    Pem,
}

/// ESO `getCertificateFromValue`: the leaf certificate's DER of a PKCS#12 archive (empty
/// password), a DER certificate, or the first `CERTIFICATE` block of PEM.
pub fn leaf_certificate(value: &[u8]) -> Result<(CertificateFormat, Vec<u8>), String> {
    #[cfg(feature = "pkcs12")]
    if let Ok(leaf) = super::pkcs12_dec::leaf_without_password(value) {
        return Ok((CertificateFormat::Pkcs12, leaf));
    }
    if x509_cert::Certificate::from_der(value).is_ok() {
        return Ok((CertificateFormat::Der, value.to_vec()));
    }
    let mut rest = value;
    while let (Some(block), tail) = decode(rest) {
        if block.typ == "CERTIFICATE" {
            x509_cert::Certificate::from_der(&block.bytes)
                .map_err(|_| "the PEM CERTIFICATE block is not an X.509 certificate")?;
            return Ok((CertificateFormat::Pem, block.bytes));
        }
        rest = tail;
    }
    Err("expected a PKCS#12 archive without password, a DER certificate or PEM with a CERTIFICATE block".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF_KEY: &str = include_str!("../../tests/fixtures/leaf.key");
    const LEAF_CRT: &str = include_str!("../../tests/fixtures/leaf.crt");

    #[test]
    fn keys_become_jwks() {
        let ec = PrivKey::generate("ecdsa").expect("ec");
        let jwk = private_key_jwk(&ec.to_sprig_pem().expect("pem")).expect("jwk");
        let names: Vec<_> = jwk.members().map(|(n, _)| n).collect();
        assert_eq!(names, ["kty", "crv", "x", "y", "d"]);
        assert_eq!(jwk.get("crv"), Some("P-256"));
        assert_eq!(jwk.get("x").map(str::len), Some(43));

        let rsa = private_key_jwk(LEAF_KEY.as_bytes()).expect("rsa or ec jwk");
        assert!(matches!(rsa.get("kty"), Some("RSA" | "EC")));
        assert!(!format!("{rsa:?}").contains(rsa.get("d").expect("d")));

        let oct = private_key_jwk(b"not pem").expect("oct");
        assert_eq!(oct.get("kty"), Some("oct"));
        assert_eq!(oct.get("k"), Some("bm90IHBlbQ"));

        let ed = PrivKey::generate("ed25519").expect("ed");
        assert!(private_key_jwk(&ed.to_sprig_pem().expect("pem")).is_err());
        assert!(
            private_key_jwk(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
    }

    #[test]
    fn certificates_are_found_in_pem_and_der() {
        let pem = format!("{LEAF_KEY}{LEAF_CRT}");
        let (format, der) = leaf_certificate(pem.as_bytes()).expect("pem");
        assert_eq!(format, CertificateFormat::Pem);
        assert_eq!(
            leaf_certificate(&der).expect("der"),
            (CertificateFormat::Der, der)
        );
        assert!(leaf_certificate(b"junk").is_err());
        #[cfg(feature = "pkcs12")]
        {
            let p12 = include_bytes!("../../tests/fixtures/bundle-nopass.p12");
            let (format, leaf) = leaf_certificate(p12).expect("pkcs12");
            assert_eq!(format, CertificateFormat::Pkcs12);
            assert!(x509_cert::Certificate::from_der(&leaf).is_ok());
            // a password-protected archive is not read as one
            let locked = include_bytes!("../../tests/fixtures/bundle-pass.p12");
            assert!(leaf_certificate(locked).is_err());
        }
        assert!(leaf_certificate(LEAF_KEY.as_bytes()).is_err());
    }
}
