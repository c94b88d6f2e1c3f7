//! Service-account tokens: RS256 JWT issuing (TokenRequest), verification (TokenReview) and the
//! OIDC discovery documents.

use super::util::{rfc3339, unix_now};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Minimum `expirationSeconds` the apiserver accepts (10 minutes).
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// Default `expirationSeconds` (1 hour).
pub const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;

/// Signs and verifies service-account JWTs.
pub struct TokenIssuer {
    key: KeyPair,
    kid: String,
    issuer: String,
    api_audience: String,
    rng: SystemRandom,
}

/// Claims of a verified token.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// All claims.
    pub claims: Value,
    /// Namespace of the service account.
    pub namespace: String,
    /// Service-account name.
    pub name: String,
    /// Service-account uid at issue time.
    pub uid: String,
    /// Audiences.
    pub audiences: Vec<String>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// Generates a fresh RSA-2048 signing key for `issuer`.
    pub fn new(issuer: String) -> Result<Self, String> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|e| format!("RSA keygen: {e}"))?;
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.public_key().as_ref());
        Ok(Self {
            kid: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            api_audience: issuer.clone(),
            issuer,
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The default audience (the issuer, as with kube-apiserver's default `--api-audiences`).
    pub fn api_audience(&self) -> &str {
        &self.api_audience
    }

    /// Signs claims into a compact JWS.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({"alg": "RS256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|e| format!("signing: {e}"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    /// Issues a service-account token.
    pub fn issue(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
        audiences: &[String],
        expiration_seconds: i64,
    ) -> Result<(String, i64), String> {
        let now = unix_now();
        let exp = now + expiration_seconds;
        let claims = json!({
            "aud": audiences,
            "exp": exp,
            "iat": now,
            "iss": self.issuer,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": name, "uid": uid}
            },
            "nbf": now,
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
        });
        Ok((self.sign(&claims)?, exp))
    }

    /// Verifies signature, issuer and time claims; audience checks are the caller's.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, String> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err("invalid bearer token, token is not a JWT".into());
        }
        let header: Value = URL_SAFE_NO_PAD
            .decode(parts[0])
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("invalid bearer token, malformed header")?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err("invalid bearer token, unexpected signing algorithm".into());
        }
        let sig = URL_SAFE_NO_PAD
            .decode(parts[2])
            .map_err(|_| "invalid bearer token, malformed signature")?;
        let public = PublicKeyComponents {
            n: self
                .key
                .public_key()
                .modulus()
                .big_endian_without_leading_zero(),
            e: self
                .key
                .public_key()
                .exponent()
                .big_endian_without_leading_zero(),
        };
        public
            .verify(
                &RSA_PKCS1_2048_8192_SHA256,
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &sig,
            )
            .map_err(
                |_| "invalid bearer token, square/go-jose: error in cryptographic primitive",
            )?;
        let claims: Value = URL_SAFE_NO_PAD
            .decode(parts[1])
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("invalid bearer token, malformed claims")?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err("invalid bearer token, token issuer is not recognized".into());
        }
        let now = unix_now();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
        if now >= exp {
            return Err("invalid bearer token, square/go-jose/jwt: validation failed, token is expired (exp)".into());
        }
        if now + 60 < nbf {
            return Err("invalid bearer token, square/go-jose/jwt: validation failed, token not valid yet (nbf)".into());
        }
        let k8s = &claims["kubernetes.io"];
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let audiences = match &claims["aud"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        Ok(VerifiedToken {
            namespace: s(&k8s["namespace"]),
            name: s(&k8s["serviceaccount"]["name"]),
            uid: s(&k8s["serviceaccount"]["uid"]),
            audiences,
            claims,
        })
    }

    /// `/.well-known/openid-configuration`.
    pub fn openid_configuration(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/openid/v1/jwks", self.issuer.trim_end_matches('/')),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }

    /// `/openid/v1/jwks`.
    pub fn jwks(&self) -> Value {
        let pk = self.key.public_key();
        json!({"keys": [{
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(pk.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(pk.exponent().big_endian_without_leading_zero()),
        }]})
    }
}

/// Formats an expiry for `status.expirationTimestamp`.
pub fn expiration_timestamp(exp: i64) -> String {
    rfc3339(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_and_verifies() {
        let issuer = TokenIssuer::new("https://127.0.0.1:1".into()).expect("keygen");
        let (tok, _) = issuer
            .issue("ns", "sa", "uid-1", &["vault".to_string()], 600)
            .expect("sign");
        let v = issuer.verify(&tok).expect("valid");
        assert_eq!(
            (v.namespace.as_str(), v.name.as_str(), v.uid.as_str()),
            ("ns", "sa", "uid-1")
        );
        assert_eq!(v.claims["sub"], "system:serviceaccount:ns:sa");
        assert_eq!(v.audiences, vec!["vault".to_string()]);
        let mut tampered = tok.clone();
        tampered.insert(tok.find('.').expect("dot") + 2, 'x');
        assert!(issuer.verify(&tampered).is_err());
        let (expired, _) = issuer.issue("ns", "sa", "u", &[], -10).expect("sign");
        assert!(
            issuer
                .verify(&expired)
                .expect_err("expired")
                .contains("expired")
        );
        assert_eq!(issuer.jwks()["keys"][0]["kty"], "RSA");
    }
}
