//! The AWS generators (ESO `generators/v1/sts` and `generators/v1/ecr`):
//!
//! - `STSSessionToken`: STS `GetSessionToken` with the spec's `requestParameters`
//!   (`sessionDuration`, `serialNumber`, `tokenCode`); keys `access_key_id`,
//!   `secret_access_key`, `session_token`, `expiration` (Unix seconds). As ESO, `auth.jwt` is
//!   refused (a web identity cannot call `GetSessionToken`).
//! - `ECRAuthorizationToken`: ECR `GetAuthorizationToken`; the token (base64 of
//!   `user:password`) split into `username` and `password`, plus `proxy_endpoint` and
//!   `expires_at` (Unix seconds). `scope: public` (ECR Public) is not supported yet.
//!
//! Credentials come from the spec's `auth` and `role` through the stores' own chain
//! ([`crate::auth`]: static keys from a Secret, IRSA / web identity, ambient identity under the
//! operator's policy, then `role`), so the identity rules of a store of the generator's
//! namespace apply. Nothing is kept as state: the credentials expire on their own.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use base64::Engine as _;
use secretsync_model::ProviderError;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::generator::{GenerateRequest, Generated, Generator, GeneratorSpec};
use secretsync_model::providers::{AwsAuth, AwsSpec};
use secretsync_model::value::{SecretData, SecretValue};

use crate::auth::Auth;
use crate::error::{CallSite, from_sdk};
use crate::options::AwsOptions;
use crate::provider::{base_config, validate_region};

/// The `STSSessionToken` generator.
#[derive(Clone, Debug, Default)]
pub struct StsSessionTokenGenerator {
    options: AwsOptions,
}

impl StsSessionTokenGenerator {
    /// A generator whose AWS clients use `options` (as the stores' do).
    pub fn new(options: AwsOptions) -> Self {
        StsSessionTokenGenerator { options }
    }
}

/// The `ECRAuthorizationToken` generator.
#[derive(Clone, Debug, Default)]
pub struct EcrAuthorizationTokenGenerator {
    options: AwsOptions,
}

impl EcrAuthorizationTokenGenerator {
    /// A generator whose AWS clients use `options` (as the stores' do).
    pub fn new(options: AwsOptions) -> Self {
        EcrAuthorizationTokenGenerator { options }
    }
}

/// Store-style messages name `spec.provider.aws.*`; a generator's fields are `spec.*`.
fn in_generator(err: ProviderError) -> ProviderError {
    match err {
        ProviderError::InvalidStoreConfig(m) => {
            ProviderError::InvalidStoreConfig(m.replace("spec.provider.aws.", "spec."))
        }
        other => other,
    }
}

/// One generator call: the SDK configuration carrying the credentials of `auth` (then `role`)
/// in `region`, and what messages name (the generator and the call).
struct Call<'a> {
    config: SdkConfig,
    subject: String,
    service: &'static str,
    operation: &'static str,
    region: &'a str,
    options: &'a AwsOptions,
}

impl<'a> Call<'a> {
    fn new(
        request: &GenerateRequest<'_>,
        (service, operation): (&'static str, &'static str),
        (region, auth, role): (&'a str, &AwsAuth, &str),
        options: &'a AwsOptions,
    ) -> Result<Self, ProviderError> {
        validate_region(region).map_err(in_generator)?;
        let spec = AwsSpec {
            region: region.to_string(),
            auth: auth.clone(),
            role: Some(role.to_string()).filter(|r| !r.is_empty()),
            ..AwsSpec::default()
        };
        let base = base_config(region, options);
        let credentials: Arc<dyn CredentialResolver> = request.credentials.clone();
        let auth = Auth::new(&request.context, &spec, credentials, base.clone(), options)
            .map_err(in_generator)?;
        Ok(Call {
            config: base
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(auth.sdk_provider()))
                .build(),
            subject: request.context.store.to_string(),
            service,
            operation,
            region,
            options,
        })
    }

    fn site(&self) -> CallSite<'_> {
        CallSite {
            service: self.service,
            operation: self.operation,
            subject: &self.subject,
            region: self.region,
            endpoint_override: self.options.endpoint_url.as_deref(),
            clock: &self.options.clock,
        }
    }

    /// `<generator> <service> <operation>`, for messages about the answer.
    fn what(&self) -> String {
        format!("{} {} {}", self.subject, self.service, self.operation)
    }
}

fn wrong_spec(kind: &str, spec: &GeneratorSpec) -> ProviderError {
    ProviderError::Unsupported(format!(
        "the {kind} generator was handed a {} spec",
        spec.kind()
    ))
}

fn missing(what: &str, field: &str) -> ProviderError {
    ProviderError::BadResponse(format!("{what}: the answer has no {field}"))
}

#[async_trait]
impl Generator for StsSessionTokenGenerator {
    fn kind(&self) -> &'static str {
        "STSSessionToken"
    }

    async fn generate(&self, request: &GenerateRequest<'_>) -> Result<Generated, ProviderError> {
        let GeneratorSpec::StsSessionToken(spec) = request.spec else {
            return Err(wrong_spec(self.kind(), request.spec));
        };
        if spec.auth.jwt.is_some() {
            return Err(ProviderError::InvalidStoreConfig(
                "spec.auth.jwt: a web identity cannot get an STS session token; expected \
                 secretRef or no auth (the operator's identity)"
                    .into(),
            ));
        }
        let call = Call::new(
            request,
            ("STS", "GetSessionToken"),
            (&spec.region, &spec.auth, &spec.role),
            &self.options,
        )?;
        let parameters = spec.request_parameters.clone().unwrap_or_default();
        let output = aws_sdk_sts::Client::new(&call.config)
            .get_session_token()
            .set_duration_seconds(parameters.session_duration)
            .set_serial_number(parameters.serial_number)
            .set_token_code(parameters.token_code)
            .send()
            .await
            .map_err(|e| from_sdk(&call.site(), e))?;
        let what = call.what();
        let credentials = output
            .credentials
            .ok_or_else(|| missing(&what, "credentials"))?;
        let data = SecretData::from([
            (
                "access_key_id".to_string(),
                SecretValue::from(credentials.access_key_id.as_str()),
            ),
            (
                "secret_access_key".to_string(),
                SecretValue::from(credentials.secret_access_key.as_str()),
            ),
            (
                "session_token".to_string(),
                SecretValue::from(credentials.session_token.as_str()),
            ),
            (
                "expiration".to_string(),
                SecretValue::from(credentials.expiration.secs().to_string().as_str()),
            ),
        ]);
        Ok(Generated { data, state: None })
    }
}

/// `username` and `password` of an ECR token (base64 of `user:password`); errors never quote
/// the token.
fn split_token(token: &str, what: &str) -> Result<(SecretValue, SecretValue), ProviderError> {
    let decoded = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| ProviderError::BadResponse(format!("{what}: the token is not base64")))?,
    );
    let colon = decoded.iter().position(|b| *b == b':').ok_or_else(|| {
        ProviderError::BadResponse(format!("{what}: the token is not user:password"))
    })?;
    Ok((
        SecretValue::new(decoded[..colon].to_vec()),
        SecretValue::new(decoded[colon + 1..].to_vec()),
    ))
}

#[async_trait]
impl Generator for EcrAuthorizationTokenGenerator {
    fn kind(&self) -> &'static str {
        "ECRAuthorizationToken"
    }

    async fn generate(&self, request: &GenerateRequest<'_>) -> Result<Generated, ProviderError> {
        let GeneratorSpec::EcrAuthorizationToken(spec) = request.spec else {
            return Err(wrong_spec(self.kind(), request.spec));
        };
        match spec.scope.as_str() {
            "" | "private" => {}
            "public" => {
                return Err(ProviderError::Unsupported(
                    "spec.scope: public (ECR Public) is not supported by secretsync yet; \
                     expected private"
                        .into(),
                ));
            }
            _ => {
                return Err(ProviderError::InvalidStoreConfig(
                    "spec.scope: expected private or public".into(),
                ));
            }
        }
        let call = Call::new(
            request,
            ("ECR", "GetAuthorizationToken"),
            (&spec.region, &spec.auth, &spec.role),
            &self.options,
        )?;
        let output = aws_sdk_ecr::Client::new(&call.config)
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| from_sdk(&call.site(), e))?;
        let what = call.what();
        let [authorization] = output.authorization_data() else {
            return Err(ProviderError::BadResponse(format!(
                "{what}: expected 1 authorization token, found {}",
                output.authorization_data().len()
            )));
        };
        let token = authorization
            .authorization_token()
            .ok_or_else(|| missing(&what, "authorizationToken"))?;
        let (username, password) = split_token(token, &what)?;
        let expires_at = authorization
            .expires_at()
            .ok_or_else(|| missing(&what, "expiresAt"))?
            .secs();
        let proxy_endpoint = authorization
            .proxy_endpoint()
            .ok_or_else(|| missing(&what, "proxyEndpoint"))?;
        let data = SecretData::from([
            ("username".to_string(), username),
            ("password".to_string(), password),
            (
                "proxy_endpoint".to_string(),
                SecretValue::from(proxy_endpoint),
            ),
            (
                "expires_at".to_string(),
                SecretValue::from(expires_at.to_string().as_str()),
            ),
        ]);
        Ok(Generated { data, state: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_at_the_first_colon_and_errors_quote_nothing() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:pa:ss");
        let (user, password) = split_token(&token, "t").expect("valid");
        assert_eq!(user.expose_str(), Some("AWS"));
        assert_eq!(password.expose_str(), Some("pa:ss"));
        for bad in ["not base64 s3cr3t!", "czNjcjN0"] {
            let err = split_token(bad, "t").expect_err(bad).to_string();
            assert!(!err.contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn store_field_names_become_generator_field_names() {
        let err = in_generator(ProviderError::InvalidStoreConfig(
            "spec.provider.aws.region: expected an AWS region".into(),
        ));
        assert!(err.to_string().contains("spec.region:"), "{err}");
    }
}
