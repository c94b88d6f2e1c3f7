//! Helpers for tests that need client assertions without an external signer: an ES256
//! "external issuer" (stand-in for a Kubernetes service-account issuer) and certificate-signed
//! assertions (PS256 + `x5t#S256`, the form MSAL sends).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use aws_lc_rs::{digest, encoding::AsDer};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use super::state::now_secs;
use super::{AzureDoubleError, ClientCertificate};

/// The signing key of a [`TestIssuer`].
enum IssuerKey {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A token issuer for federated-credential tests: ES256 ([`TestIssuer::generate`]) or RS256
/// like a Kubernetes service-account issuer ([`TestIssuer::generate_rsa`]).
pub struct TestIssuer {
    issuer: String,
    key: IssuerKey,
    kid: String,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn crypto_error(what: &str) -> AzureDoubleError {
    AzureDoubleError::Pki(format!("{what} failed"))
}

impl TestIssuer {
    /// Generates a P-256 key for `issuer` (the `iss` of tokens it signs).
    pub fn generate(issuer: &str) -> Result<Self, AzureDoubleError> {
        let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| crypto_error("generating the issuer key"))?;
        Ok(Self {
            issuer: issuer.to_string(),
            key: IssuerKey::Ec(key),
            kid: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    /// Generates an RSA-2048 key for `issuer`; tokens are RS256, as Kubernetes signs them.
    pub fn generate_rsa(issuer: &str) -> Result<Self, AzureDoubleError> {
        let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| crypto_error("generating the issuer RSA key"))?;
        Ok(Self {
            issuer: issuer.to_string(),
            key: IssuerKey::Rsa(key),
            kid: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{"keys":[JWK]}` for [`super::TrustedIssuerKeys::Jwks`].
    pub fn jwks(&self) -> Value {
        match &self.key {
            IssuerKey::Ec(key) => {
                let point = key.public_key().as_ref();
                json!({"keys": [{
                    "kty": "EC", "use": "sig", "crv": "P-256", "alg": "ES256", "kid": self.kid,
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                }]})
            }
            IssuerKey::Rsa(key) => {
                let public = key.public_key();
                json!({"keys": [{
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                }]})
            }
        }
    }

    /// The public key as PEM `PUBLIC KEY` for [`super::TrustedIssuerKeys::PublicKeyPem`].
    pub fn public_key_pem(&self) -> Result<String, AzureDoubleError> {
        let der = match &self.key {
            IssuerKey::Ec(key) => key.public_key().as_der().map(|d| d.as_ref().to_vec()),
            IssuerKey::Rsa(key) => key.public_key().as_der().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| crypto_error("encoding the public key"))?;
        Ok(pem("PUBLIC KEY", &der))
    }

    /// Signs a token for `subject` and `audience`, valid for `lifetime_secs` from now.
    pub fn token(
        &self,
        subject: &str,
        audience: &str,
        lifetime_secs: i64,
    ) -> Result<String, AzureDoubleError> {
        let now = now_secs();
        self.sign(&json!({
            "iss": self.issuer, "sub": subject, "aud": [audience],
            "iat": now, "nbf": now, "exp": now + lifetime_secs,
        }))
    }

    /// Signs arbitrary claims.
    pub fn sign(&self, claims: &Value) -> Result<String, AzureDoubleError> {
        let rng = SystemRandom::new();
        let (input, sig) = match &self.key {
            IssuerKey::Ec(key) => {
                let input = signing_input(
                    &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
                    claims,
                );
                let sig = key
                    .sign(&rng, input.as_bytes())
                    .map_err(|_| crypto_error("signing a token"))?;
                (input, sig.as_ref().to_vec())
            }
            IssuerKey::Rsa(key) => {
                let input = signing_input(
                    &json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}),
                    claims,
                );
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .map_err(|_| crypto_error("signing a token"))?;
                (input, sig)
            }
        };
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig)))
    }
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl ClientCertificate {
    /// A client assertion for `client_id` signed with this certificate's key (PS256 with an
    /// `x5t#S256` header, as MSAL sends it), `aud` = `token_endpoint`, valid 10 minutes.
    pub fn client_assertion(
        &self,
        client_id: &str,
        token_endpoint: &str,
    ) -> Result<String, AzureDoubleError> {
        let key_der = PrivatePkcs8KeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|_| crypto_error("parsing the client key PEM"))?;
        let key = RsaKeyPair::from_pkcs8(key_der.secret_pkcs8_der())
            .map_err(|_| crypto_error("loading the client RSA key"))?;
        let thumbprint = digest::digest(&digest::SHA256, &self.cert_der);
        let now = now_secs();
        let input = signing_input(
            &json!({"alg": "PS256", "typ": "JWT", "x5t#S256": URL_SAFE_NO_PAD.encode(thumbprint.as_ref())}),
            &json!({
                "aud": token_endpoint, "iss": client_id, "sub": client_id,
                "iat": now, "nbf": now, "exp": now + 600,
                "jti": uuid::Uuid::new_v4().to_string(),
            }),
        );
        let mut sig = vec![0u8; key.public_modulus_len()];
        key.sign(
            &signature::RSA_PSS_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .map_err(|_| crypto_error("signing the client assertion"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig)))
    }
}
