//! The `VaultDynamicSecret` generator (ESO `generators/v1/vault`): one request to a Vault path
//! that issues credentials (`database/creds/<role>`, `aws/creds/<role>`, `auth/token/create`),
//! its `data`, `auth` or whole answer as the generated values, and the lease (id, duration,
//! renewable — never the credential) as the generator's state.
//!
//! Each generation logs in with the spec's `provider` block through [`VaultProvider`] (same
//! auth methods, TLS, namespaces and identity rules as a store). The login token is not revoked
//! afterwards: Vault revokes a token's leases with it.

use async_trait::async_trait;
use reqwest::Method;
use secretsync_model::ProviderError;
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

/// The lease a generation holds: what renewing or revoking it needs, never the credential.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseState {
    /// Vault's lease id (`database/creds/app/AbCd...`): not a secret (revoking needs a token
    /// allowed to `sys/leases/revoke`).
    pub lease_id: String,
    /// Seconds the lease was granted for.
    pub lease_duration: u64,
    /// Whether Vault allows renewing it.
    pub renewable: bool,
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
) -> Result<(SecretData, LeaseState), ProviderError> {
    let bad = |m: String| ProviderError::BadResponse(format!("{what}: {m}"));
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| bad(format!("answer is not JSON ({})", e.classify_name())))?;
    let lease = LeaseState {
        lease_id: answer.lease_id.clone(),
        lease_duration: answer.lease_duration,
        renewable: answer.renewable,
    };
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
        let GeneratorSpec::VaultDynamicSecret(spec) = request.spec else {
            return Err(ProviderError::Unsupported(format!(
                "the VaultDynamicSecret generator was handed a {} spec",
                request.spec.kind()
            )));
        };
        let Some(vault) = &spec.provider else {
            return Err(invalid("provider", "the Vault server and its auth"));
        };
        let call = request_of(spec)?;
        let provider = VaultProvider::new(
            request.context.clone(),
            vault.clone(),
            request.credentials.clone(),
            self.options.clone(),
        )?
        .with_retry_settings(spec.retry_settings.as_ref())?;
        let what = format!("{} {} {}", request.context.store, call.method, call.path);
        let response = provider.inner.send_authed(&call, &what).await?;
        let (data, lease) = values_of(&response.body, spec.result_type, &what)?;
        if data.is_empty() && !spec.allow_empty_response {
            return Err(ProviderError::BadResponse(format!(
                "{what}: the answer holds no {:?} values (set allowEmptyResponse to accept that)",
                spec.result_type
            )));
        }
        let state = (!lease.lease_id.is_empty())
            .then(|| serde_json::to_value(&lease).ok())
            .flatten();
        Ok(Generated { data, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_values_and_a_lease() {
        let body = br#"{"lease_id":"database/creds/app/x1","lease_duration":60,"renewable":true,
            "data":{"username":"v-app","password":"p","ttl":60},"auth":null}"#;
        let (data, lease) =
            values_of(body, VaultDynamicSecretResultType::Data, "t").expect("parses");
        assert_eq!(data["username"].expose_str(), Some("v-app"));
        assert_eq!(data["ttl"].expose_str(), Some("60"));
        assert_eq!(
            lease,
            LeaseState {
                lease_id: "database/creds/app/x1".into(),
                lease_duration: 60,
                renewable: true
            }
        );
        let (raw, _) = values_of(body, VaultDynamicSecretResultType::Raw, "t").expect("raw");
        assert_eq!(raw["lease_duration"].expose_str(), Some("60"));
        let (auth, _) = values_of(body, VaultDynamicSecretResultType::Auth, "t").expect("auth");
        assert!(auth.is_empty());
        let err = values_of(b"<html>", VaultDynamicSecretResultType::Data, "t").expect_err("bad");
        assert!(matches!(err, ProviderError::BadResponse(_)), "{err}");
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
