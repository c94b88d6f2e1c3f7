//! Minimal JWT/JWS support on aws-lc-rs: signing the double's own access tokens (ES256) and
//! verifying client assertions (RS256/PS256/ES256/ES384) against JWKs, PEM public keys or
//! registered certificates.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, KeyPair, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use serde_json::{Map, Value, json};

/// Why a JWT was rejected (messages never contain the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// Not three base64url segments of JSON.
    Malformed(String),
    /// The `alg` is missing or not supported by the key.
    UnsupportedAlgorithm(String),
    /// The signature does not verify with any candidate key.
    BadSignature,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed(why) => write!(f, "malformed JWT: {why}"),
            JwtError::UnsupportedAlgorithm(alg) => write!(f, "unsupported JWT alg '{alg}'"),
            JwtError::BadSignature => write!(f, "JWT signature does not verify"),
        }
    }
}

/// A JWT split into its parts; the signature is not yet verified.
pub(crate) struct ParsedJwt {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl ParsedJwt {
    /// Splits and decodes a compact JWS.
    pub(crate) fn parse(token: &str) -> Result<Self, JwtError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed(
                "expected three dot-separated segments".into(),
            ));
        };
        let decode_json = |seg: &str, what: &str| -> Result<Map<String, Value>, JwtError> {
            let bytes = URL_SAFE_NO_PAD
                .decode(seg)
                .map_err(|_| JwtError::Malformed(format!("{what} is not base64url")))?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(JwtError::Malformed(format!("{what} is not a JSON object"))),
            }
        };
        let header = decode_json(h, "header")?;
        let claims = decode_json(c, "payload")?;
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| JwtError::Malformed("signature is not base64url".into()))?;
        Ok(Self {
            header,
            claims,
            signing_input: format!("{h}.{c}"),
            signature,
        })
    }

    /// The `alg` header.
    pub(crate) fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    /// A string header value.
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim.
    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric (seconds) claim.
    pub(crate) fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims
            .get(name)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    }

    /// `aud` as a list (a JWT may carry one string or an array).
    pub(crate) fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Verifies the signature with a public key given as a JWK object.
    pub(crate) fn verify_with_jwk(&self, jwk: &Map<String, Value>) -> Result<(), JwtError> {
        let b64 = |name: &str| -> Result<Vec<u8>, JwtError> {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
                .ok_or_else(|| JwtError::Malformed(format!("JWK lacks a base64url '{name}'")))
        };
        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let (n, e) = (b64("n")?, b64("e")?);
                let alg = rsa_algorithm(self.alg())?;
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(alg, self.signing_input.as_bytes(), &self.signature)
                    .map_err(|_| JwtError::BadSignature)
            }
            Some("EC") => {
                let mut point = vec![0x04];
                point.extend(b64("x")?);
                point.extend(b64("y")?);
                let alg = ec_fixed_algorithm(self.alg())?;
                UnparsedPublicKey::new(alg, point)
                    .verify(self.signing_input.as_bytes(), &self.signature)
                    .map_err(|_| JwtError::BadSignature)
            }
            other => Err(JwtError::UnsupportedAlgorithm(format!("kty {other:?}"))),
        }
    }

    /// Verifies the signature with a DER `SubjectPublicKeyInfo` (from a PEM `PUBLIC KEY`).
    pub(crate) fn verify_with_spki(&self, spki_der: &[u8]) -> Result<(), JwtError> {
        let alg = self.alg();
        let result = if alg.starts_with("ES") {
            UnparsedPublicKey::new(ec_fixed_algorithm(alg)?, spki_der)
                .verify(self.signing_input.as_bytes(), &self.signature)
        } else {
            UnparsedPublicKey::new(rsa_algorithm(alg)?, spki_der)
                .verify(self.signing_input.as_bytes(), &self.signature)
        };
        result.map_err(|_| JwtError::BadSignature)
    }

    /// Verifies the signature with the public key of an X.509 certificate.
    pub(crate) fn verify_with_certificate(
        &self,
        cert: &CertificateDer<'_>,
    ) -> Result<(), JwtError> {
        let end_entity = webpki::EndEntityCert::try_from(cert)
            .map_err(|e| JwtError::Malformed(format!("registered certificate unusable: {e}")))?;
        let (alg, signature): (&dyn SignatureVerificationAlgorithm, Vec<u8>) = match self.alg() {
            "RS256" => (
                webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
                self.signature.clone(),
            ),
            "PS256" => (
                webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
                self.signature.clone(),
            ),
            "ES256" => (
                webpki::aws_lc_rs::ECDSA_P256_SHA256,
                fixed_to_der_ecdsa(&self.signature)?,
            ),
            other => return Err(JwtError::UnsupportedAlgorithm(other.to_string())),
        };
        end_entity
            .verify_signature(alg, self.signing_input.as_bytes(), &signature)
            .map_err(|_| JwtError::BadSignature)
    }
}

fn rsa_algorithm(alg: &str) -> Result<&'static signature::RsaParameters, JwtError> {
    match alg {
        "RS256" => Ok(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => Ok(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => Ok(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => Ok(&signature::RSA_PSS_2048_8192_SHA256),
        other => Err(JwtError::UnsupportedAlgorithm(other.to_string())),
    }
}

fn ec_fixed_algorithm(alg: &str) -> Result<&'static dyn VerificationAlgorithm, JwtError> {
    match alg {
        "ES256" => Ok(&signature::ECDSA_P256_SHA256_FIXED),
        "ES384" => Ok(&signature::ECDSA_P384_SHA384_FIXED),
        other => Err(JwtError::UnsupportedAlgorithm(other.to_string())),
    }
}

/// Converts a JOSE `r || s` ECDSA signature into the ASN.1 DER form X.509 verifiers expect.
fn fixed_to_der_ecdsa(sig: &[u8]) -> Result<Vec<u8>, JwtError> {
    if sig.len() != 64 {
        return Err(JwtError::BadSignature);
    }
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| *b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let mut body = integer(&sig[..32]);
    body.extend(integer(&sig[32..]));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    Ok(out)
}

/// The double's token-signing key (ES256), published as a JWKS.
pub(crate) struct TokenSigner {
    key: EcdsaKeyPair,
    kid: String,
    rng: SystemRandom,
}

impl TokenSigner {
    /// Generates a fresh P-256 key.
    pub(crate) fn generate() -> Result<Self, String> {
        let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| "generating the token signing key failed".to_string())?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        Ok(Self {
            key,
            kid,
            rng: SystemRandom::new(),
        })
    }

    /// Signs `claims` into a compact JWS.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"typ": "JWT", "alg": "ES256", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&self.rng, input.as_bytes())
            .map_err(|_| "signing a token failed".to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }

    /// The public key as a JWK (`kty: EC`, `crv: P-256`).
    pub(crate) fn jwk(&self) -> Value {
        let point = self.key.public_key().as_ref();
        json!({
            "kty": "EC", "use": "sig", "crv": "P-256", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// Verifies a token issued by this signer (signature only).
    pub(crate) fn verify(&self, token: &ParsedJwt) -> Result<(), JwtError> {
        match self.jwk() {
            Value::Object(jwk) => token.verify_with_jwk(&jwk),
            _ => Err(JwtError::BadSignature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_round_trip_and_tamper_detection() {
        let signer = TokenSigner::generate().expect("key");
        let token = signer.sign(&json!({"aud": "x", "n": 1})).expect("sign");
        let parsed = ParsedJwt::parse(&token).expect("parse");
        assert_eq!(parsed.claim_str("aud"), Some("x"));
        signer.verify(&parsed).expect("own signature verifies");

        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(json!({"aud": "y", "n": 1}).to_string());
        parts[1] = &forged;
        let tampered = ParsedJwt::parse(&parts.join(".")).expect("parse");
        assert_eq!(signer.verify(&tampered), Err(JwtError::BadSignature));
    }

    #[test]
    fn der_conversion_keeps_positive_integers() {
        let mut sig = [0u8; 64];
        sig[0] = 0x80;
        sig[63] = 1;
        let der = fixed_to_der_ecdsa(&sig).expect("der");
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 33, 0x00]);
        assert!(ParsedJwt::parse("a.b").is_err());
    }
}
