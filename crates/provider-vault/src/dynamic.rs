//! The `VaultDynamicSecret` generator (ESO `generators/v1/vault`): one request to a Vault path
//! that issues credentials (`database/creds/<role>`, `aws/creds/<role>`, `auth/token/create`),
//! its `data`, `auth` or whole answer as the generated values, and a [`LeaseState`] (lease id,
//! times, renewable — never the credential) as the generator's state. A PKI issue
//! (`pki/issue/<role>`) has no lease: its state is the certificate's serial number and
//! `expiration`, and the host re-issues it before it expires.
//!
//! Beyond ESO, [`Generator::renew`] renews the lease (`sys/leases/renew`, asking for the
//! duration first granted) and [`Generator::cleanup`] revokes it (`sys/leases/revoke`).
//!
//! Each call logs in with the spec's `provider` block through [`VaultProvider`] (same auth
//! methods, TLS, namespaces and identity rules as a store). The login token is not revoked
//! afterwards: Vault would revoke its child leases with it. Its TTL must therefore cover the
//! lease's max TTL (docs/engine.md).

use async_trait::async_trait;
use reqwest::Method;
use secretsync_model::ProviderError;
use secretsync_model::generator::lease::{LeaseKind, LeaseState, Timestamp};
use secretsync_model::generator::{
    GenerateRequest, Generated, Generator, GeneratorSpec, VaultDynamicSecretResultType,
    VaultDynamicSecretSpec,
};
use secretsync_model::value::{SecretData, SecretValue};
use serde::Deserialize;

use crate::options::VaultOptions;
use crate::provider::{Request, VaultProvider};

/// The `VaultDynamicSecret` generator.
#[derive(Clone, Debug, Default)]
pub struct VaultDynamicSecretGenerator {
    options: VaultOptions,
}

impl VaultDynamicSecretGenerator {
    /// A generator whose Vault clients use `options` (as the stores' do).
    pub fn new(options: VaultOptions) -> Self {
        VaultDynamicSecretGenerator { options }
    }
}

/// The parts of a Vault answer the generator reads; values stay raw JSON until converted.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
    #[serde(default)]
    data: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    auth: Option<serde_json::Map<String, serde_json::Value>>,
}

fn invalid(field: &str, expected: &str) -> ProviderError {
    ProviderError::InvalidStoreConfig(format!("spec.{field}: expected {expected}"))
}

/// The request a spec asks for (ESO: `GET` unless `method` says otherwise).
fn request_of(spec: &VaultDynamicSecretSpec) -> Result<Request, ProviderError> {
    let path = spec.path.trim().trim_matches('/');
    if path.is_empty() {
        return Err(invalid("path", "a Vault path such as database/creds/app"));
    }
    let method = match spec.method.trim() {
        "" => Method::GET,
        m => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid("method", "an HTTP method such as GET or POST"))?,
    };
    if !spec.get_parameters.is_empty() {
        return Err(ProviderError::Unsupported(
            "spec.getParameters: query parameters are not supported by secretsync yet".into(),
        ));
    }
    let mut request = Request::new(method, path.to_string());
    if let Some(parameters) = spec.parameters.as_ref().filter(|p| !p.is_null()) {
        if request.method == Method::GET {
            return Err(invalid(
                "parameters",
                "no body for GET (set method: POST, or use getParameters)",
            ));
        }
        if !parameters.is_object() {
            return Err(invalid("parameters", "a JSON object"));
        }
        request.body = Some(zeroize::Zeroizing::new(
            serde_json::to_vec(parameters).unwrap_or_default(),
        ));
    }
    Ok(request)
}

/// ESO's `GetByteValue`: strings as they are, everything else as JSON.
fn byte_value(value: &serde_json::Value) -> SecretValue {
    match value {
        serde_json::Value::String(s) => SecretValue::from(s.as_str()),
        other => SecretValue::new(serde_json::to_vec(other).unwrap_or_default()),
    }
}

/// The generated values of an answer under `resultType`.
fn values_of(
    body: &[u8],
    result: VaultDynamicSecretResultType,
    what: &str,
    now: Timestamp,
) -> Result<(SecretData, Option<LeaseState>), ProviderError> {
    let bad = |m: String| ProviderError::BadResponse(format!("{what}: {m}"));
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| bad(format!("answer is not JSON ({})", e.classify_name())))?;
    let lease = lease_of(&answer, now);
    let map = match result {
        VaultDynamicSecretResultType::Data => answer.data.unwrap_or_default(),
        VaultDynamicSecretResultType::Auth => answer.auth.unwrap_or_default(),
        VaultDynamicSecretResultType::Raw => match serde_json::from_slice(body) {
            Ok(serde_json::Value::Object(all)) => all,
            _ => return Err(bad("answer is not a JSON object".into())),
        },
    };
    let data = map
        .iter()
        .map(|(k, v)| (k.clone(), byte_value(v)))
        .collect();
    Ok((data, lease))
}

/// The lease of an answer, or the certificate of a PKI issue (`data.expiration`, Unix
/// seconds, and `data.serial_number`), or `None`.
fn lease_of(answer: &Answer, now: Timestamp) -> Option<LeaseState> {
    if !answer.lease_id.is_empty() {
        return Some(LeaseState::issued(
            answer.lease_id.clone(),
            answer.lease_duration,
            answer.renewable,
            now,
        ));
    }
    let data = answer.data.as_ref()?;
    data.get("certificate")?;
    let expiration = data.get("expiration")?.as_i64()?;
    let expires_at = Timestamp::from_second(expiration).ok()?;
    let serial = data
        .get("serial_number")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    Some(LeaseState::certificate(serial.to_string(), expires_at, now))
}

/// Vault's answer to `sys/leases/renew`.
#[derive(Deserialize)]
struct Renewal {
    #[serde(default)]
    lease_duration: u64,
}

/// The `sys/leases/{renew,revoke}` call for `lease`.
fn lease_call(path: &str, lease: &LeaseState, increment: Option<u64>) -> Request {
    let mut body = serde_json::json!({"lease_id": lease.lease_id});
    if let Some(increment) = increment {
        body["increment"] = increment.into();
    }
    let mut call = Request::new(Method::PUT, path.to_string());
    call.body = Some(zeroize::Zeroizing::new(
        serde_json::to_vec(&body).unwrap_or_default(),
    ));
    call
}

/// The lease a state holds, when there is one to renew or revoke.
fn held_lease(state: &serde_json::Value) -> Option<LeaseState> {
    LeaseState::from_json(state).filter(|l| l.kind == LeaseKind::Lease && !l.lease_id.is_empty())
}

impl VaultDynamicSecretGenerator {
    /// The spec and a provider logged in as it says.
    fn provider_of<'a>(
        &self,
        request: &'a GenerateRequest<'_>,
    ) -> Result<(&'a VaultDynamicSecretSpec, VaultProvider), ProviderError> {
        let GeneratorSpec::VaultDynamicSecret(spec) = request.spec else {
            return Err(ProviderError::Unsupported(format!(
                "the VaultDynamicSecret generator was handed a {} spec",
                request.spec.kind()
            )));
        };
        let Some(vault) = &spec.provider else {
            return Err(invalid("provider", "the Vault server and its auth"));
        };
        let provider = VaultProvider::new(
            request.context.clone(),
            vault.clone(),
            request.credentials.clone(),
            self.options.clone(),
        )?
        .with_retry_settings(spec.retry_settings.as_ref())?;
        Ok((spec, provider))
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[async_trait]
impl Generator for VaultDynamicSecretGenerator {
    fn kind(&self) -> &'static str {
        "VaultDynamicSecret"
    }

    async fn generate(&self, request: &GenerateRequest<'_>) -> Result<Generated, ProviderError> {
        let (spec, provider) = self.provider_of(request)?;
        let call = request_of(spec)?;
        let what = format!("{} {} {}", request.context.store, call.method, call.path);
        let response = provider.inner.send_authed(&call, &what).await?;
        let (data, lease) = values_of(&response.body, spec.result_type, &what, Timestamp::now())?;
        if data.is_empty() && !spec.allow_empty_response {
            return Err(ProviderError::BadResponse(format!(
                "{what}: the answer holds no {:?} values (set allowEmptyResponse to accept that)",
                spec.result_type
            )));
        }
        Ok(Generated {
            data,
            state: lease.as_ref().map(LeaseState::to_json),
        })
    }

    async fn renew(
        &self,
        request: &GenerateRequest<'_>,
        state: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        let Some(lease) = held_lease(state).filter(|l| l.renewable) else {
            return Ok(None);
        };
        let (_, provider) = self.provider_of(request)?;
        let call = lease_call("sys/leases/renew", &lease, Some(lease.lease_duration));
        let what = format!("{} renewing a lease", request.context.store);
        let response = provider.inner.send_authed(&call, &what).await?;
        let renewal: Renewal = serde_json::from_slice(&response.body).map_err(|e| {
            ProviderError::BadResponse(format!(
                "{what}: answer is not a renewal ({})",
                e.classify_name()
            ))
        })?;
        Ok(Some(
            lease
                .renewed(renewal.lease_duration, Timestamp::now())
                .to_json(),
        ))
    }

    async fn cleanup(
        &self,
        request: &GenerateRequest<'_>,
        state: &serde_json::Value,
    ) -> Result<(), ProviderError> {
        let Some(lease) = held_lease(state) else {
            return Ok(());
        };
        let (_, provider) = self.provider_of(request)?;
        let call = lease_call("sys/leases/revoke", &lease, None);
        let what = format!("{} revoking a lease", request.context.store);
        provider.inner.send_authed(&call, &what).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_values_and_a_lease() {
        let body = br#"{"lease_id":"database/creds/app/x1","lease_duration":60,"renewable":true,
            "data":{"username":"v-app","password":"p","ttl":60},"auth":null}"#;
        let now = Timestamp::from_second(1_000).expect("valid");
        let (data, lease) =
            values_of(body, VaultDynamicSecretResultType::Data, "t", now).expect("parses");
        assert_eq!(data["username"].expose_str(), Some("v-app"));
        assert_eq!(data["ttl"].expose_str(), Some("60"));
        assert_eq!(
            lease,
            Some(LeaseState::issued(
                "database/creds/app/x1".into(),
                60,
                true,
                now
            ))
        );
        let (raw, _) = values_of(body, VaultDynamicSecretResultType::Raw, "t", now).expect("raw");
        assert_eq!(raw["lease_duration"].expose_str(), Some("60"));
        let (auth, _) =
            values_of(body, VaultDynamicSecretResultType::Auth, "t", now).expect("auth");
        assert!(auth.is_empty());
        let err =
            values_of(b"<html>", VaultDynamicSecretResultType::Data, "t", now).expect_err("bad");
        assert!(matches!(err, ProviderError::BadResponse(_)), "{err}");
        let pki = br#"{"lease_id":"","lease_duration":0,"renewable":false,"data":{
            "certificate":"-----BEGIN CERTIFICATE-----","private_key":"k3y","expiration":1060,
            "serial_number":"1a:2b"}}"#;
        let (_, cert) =
            values_of(pki, VaultDynamicSecretResultType::Data, "t", now).expect("parses");
        let cert = cert.expect("a certificate state");
        assert_eq!(cert.kind, LeaseKind::Certificate);
        assert_eq!(
            cert.expires_at,
            Timestamp::from_second(1060).expect("valid")
        );
        assert!(!cert.to_json().to_string().contains("k3y"));
        let (_, none) = values_of(
            br#"{"data":{"a":"b"}}"#,
            VaultDynamicSecretResultType::Data,
            "t",
            now,
        )
        .expect("parses");
        assert_eq!(none, None);
    }

    #[test]
    fn requests_follow_the_spec() {
        let spec = |f: fn(&mut VaultDynamicSecretSpec)| {
            let mut s = VaultDynamicSecretSpec {
                path: "/database/creds/app/".into(),
                ..Default::default()
            };
            f(&mut s);
            request_of(&s)
        };
        let r = spec(|_| {}).expect("GET by default");
        assert_eq!(
            (r.method, r.path.as_str()),
            (Method::GET, "database/creds/app")
        );
        let r = spec(|s| s.method = "post".into()).expect("POST");
        assert_eq!(r.method, Method::POST);
        let r = spec(|s| {
            s.method = "POST".into();
            s.parameters = Some(serde_json::json!({"common_name": "web.example"}));
        })
        .expect("POST with a body");
        assert_eq!(
            r.body.as_deref().map(Vec::as_slice),
            Some(br#"{"common_name":"web.example"}"#.as_slice())
        );
        for (f, field) in [
            (
                (|s: &mut VaultDynamicSecretSpec| s.path = " ".into())
                    as fn(&mut VaultDynamicSecretSpec),
                "spec.path",
            ),
            (|s| s.method = "NOT A METHOD".into(), "spec.method"),
            (
                |s| s.parameters = Some(serde_json::json!({"common_name": "x"})),
                "spec.parameters",
            ),
            (
                |s| {
                    s.method = "POST".into();
                    s.parameters = Some(serde_json::json!(["x"]));
                },
                "spec.parameters",
            ),
        ] {
            let err = spec(f).err().expect("refused").to_string();
            assert!(err.contains(field), "{err}");
        }
    }
}
