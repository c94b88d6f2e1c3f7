//! Client certificate credentials: the PEM from `authSecretRef.clientCertificate` (certificate
//! plus private key) and the signed client assertion sent to the token endpoint.
//!
//! Built here (aws-lc-rs) instead of with `azure_identity::ClientCertificateCredential`, which
//! pulls in OpenSSL.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use secretsync_model::ProviderError;

/// Lifetime of a client assertion.
const ASSERTION_LIFETIME_SECS: u64 = 600;

enum SigningKey {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair, &'static str),
}

/// A certificate and its private key, ready to sign client assertions.
pub(crate) struct ClientCertificate {
    key: SigningKey,
    sha1_thumbprint: String,
    sha256_thumbprint: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.sha256_thumbprint)
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// Parses a PEM holding one `CERTIFICATE` (the first is the client's) and one private key
    /// (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`). `origin` names the Secret key.
    pub(crate) fn from_pem(pem: &[u8], origin: &str) -> Result<Self, ProviderError> {
        let bad = |what: String| {
            ProviderError::InvalidStoreConfig(format!(
                "{origin}: expected a PEM client certificate with its private key: {what}"
            ))
        };
        let cert = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or_else(|| bad("no CERTIFICATE block".into()))?
            .map_err(|_| bad("the CERTIFICATE block is malformed".into()))?;
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| bad("no readable PRIVATE KEY block".into()))?;
        let key = match &key {
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der())
                .map(SigningKey::Rsa)
                .map_err(|e| bad(format!("RSA key rejected ({e})")))?,
            PrivateKeyDer::Sec1(k) => ecdsa_key(k.secret_sec1_der())
                .ok_or_else(|| bad("EC key rejected (P-256 and P-384 are supported)".into()))?,
            PrivateKeyDer::Pkcs8(k) => {
                let der = k.secret_pkcs8_der();
                match RsaKeyPair::from_pkcs8(der) {
                    Ok(rsa) => SigningKey::Rsa(rsa),
                    Err(_) => ecdsa_key(der).ok_or_else(|| {
                        bad("PKCS#8 key rejected (RSA, EC P-256 and P-384 are supported)".into())
                    })?,
                }
            }
            _ => return Err(bad("unsupported private key type".into())),
        };
        Ok(ClientCertificate {
            key,
            sha1_thumbprint: URL_SAFE_NO_PAD.encode(digest::digest(
                &digest::SHA1_FOR_LEGACY_USE_ONLY,
                cert.as_ref(),
            )),
            sha256_thumbprint: URL_SAFE_NO_PAD
                .encode(digest::digest(&digest::SHA256, cert.as_ref())),
        })
    }

    /// A client assertion for `client_id` at `token_endpoint`, valid ten minutes from `now`
    /// (Unix seconds).
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        token_endpoint: &str,
        now: u64,
    ) -> Result<SecretString, ProviderError> {
        let alg = match &self.key {
            SigningKey::Rsa(_) => "RS256",
            SigningKey::Ecdsa(_, alg) => alg,
        };
        let header = serde_json::json!({
            "alg": alg,
            "typ": "JWT",
            "x5t": self.sha1_thumbprint,
            "x5t#S256": self.sha256_thumbprint,
        });
        let claims = serde_json::json!({
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let failed = || {
            ProviderError::InvalidStoreConfig(format!(
                "client certificate of client {client_id:?}: signing the client assertion failed"
            ))
        };
        let rng = SystemRandom::new();
        let signature = match &self.key {
            SigningKey::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, signing_input.as_bytes(), &mut sig)
                    .map_err(|_| failed())?;
                sig
            }
            SigningKey::Ecdsa(key, _) => key
                .sign(&rng, signing_input.as_bytes())
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
        };
        Ok(SecretString::from(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

fn ecdsa_key(der: &[u8]) -> Option<SigningKey> {
    if let Ok(k) = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
        return Some(SigningKey::Ecdsa(k, "ES256"));
    }
    EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_FIXED_SIGNING, der)
        .ok()
        .map(|k| SigningKey::Ecdsa(k, "ES384"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    }

    #[test]
    fn assertion_carries_thumbprints_issuer_and_audience() {
        let cert = secretsync_testkit::azure::ClientCertificate::generate("unit").expect("cert");
        let parsed = ClientCertificate::from_pem(cert.combined_pem().as_bytes(), "Secret x/key y")
            .expect("parse");
        let jwt = parsed
            .assertion("app-1", "https://login.example/t/oauth2/v2.0/token", 1_000)
            .expect("assertion");
        let parts: Vec<&str> = jwt.expose_secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = decode_part(parts[0]);
        assert_eq!(header["alg"], "RS256");
        let expected = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &cert.cert_der));
        assert_eq!(header["x5t#S256"], expected.as_str());
        let claims = decode_part(parts[1]);
        assert_eq!(claims["iss"], "app-1");
        assert_eq!(claims["sub"], "app-1");
        assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert_eq!(claims["exp"], 1_600);
    }

    #[test]
    fn pem_without_key_names_the_origin() {
        let cert = secretsync_testkit::azure::ClientCertificate::generate("unit").expect("cert");
        let err = ClientCertificate::from_pem(cert.cert_pem.as_bytes(), "Secret ns/sp key tls.pem")
            .expect_err("no key");
        assert!(
            err.to_string().contains("Secret ns/sp key tls.pem"),
            "{err}"
        );
        assert!(err.to_string().contains("PRIVATE KEY"), "{err}");
    }
}
