//! The STS calls of the credential chain. Every STS client is built from the provider's base
//! configuration, so the endpoint override reaches web identity, role chaining and IRSA alike.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use secretsync_model::{ProviderError, SecretValue};

use crate::error::{CallSite, from_sdk};
use crate::options::AwsOptions;

/// One `AssumeRole` step of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RoleStep {
    /// Role to assume.
    pub role_arn: String,
    /// `externalID`.
    pub external_id: Option<String>,
    /// Session tags (key, value).
    pub session_tags: Vec<(String, String)>,
    /// Transitive tag keys.
    pub transitive_tag_keys: Vec<String>,
}

/// Makes STS calls with the store's region and the process options.
pub(crate) struct Sts {
    base: SdkConfig,
    region: String,
    options: AwsOptions,
}

const PROVIDER_NAME: &str = "secretsync-sts";

fn session_name(base: &str) -> String {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    // Role session names allow [\w+=,.@-]{2,64}.
    let mut name: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .take(48)
        .collect();
    if name.len() < 2 {
        name = "secretsync".to_string();
    }
    format!("{name}-{millis}")
}

fn convert(
    credentials: Option<aws_sdk_sts::types::Credentials>,
    site: &CallSite<'_>,
) -> Result<Credentials, ProviderError> {
    let c = credentials.ok_or_else(|| {
        ProviderError::BadResponse(format!(
            "STS {} for {} returned no credentials",
            site.operation, site.subject
        ))
    })?;
    let expiry = SystemTime::try_from(c.expiration).ok();
    Ok(Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        expiry,
        PROVIDER_NAME,
    ))
}

impl Sts {
    /// `base` carries region, endpoint, timeouts and retries but no credentials.
    pub(crate) fn new(base: SdkConfig, region: String, options: AwsOptions) -> Self {
        Sts {
            base,
            region,
            options,
        }
    }

    fn site<'a>(&'a self, operation: &'static str, subject: &'a str) -> CallSite<'a> {
        CallSite {
            service: "STS",
            operation,
            subject,
            region: &self.region,
            endpoint_override: self.options.endpoint_url.as_deref(),
            clock: &self.options.clock,
        }
    }

    fn client(&self, credentials: Option<Credentials>) -> aws_sdk_sts::Client {
        let mut builder = aws_sdk_sts::config::Builder::from(&self.base);
        if let Some(c) = credentials {
            builder = builder.credentials_provider(c);
        }
        aws_sdk_sts::Client::from_conf(builder.build())
    }

    /// Exchanges a web identity token (a ServiceAccount JWT) for role credentials.
    pub(crate) async fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        token: &SecretValue,
        session_name_base: &str,
    ) -> Result<Credentials, ProviderError> {
        let subject = format!("role {role_arn:?}");
        let site = self.site("AssumeRoleWithWebIdentity", &subject);
        let token = token.expose_str().ok_or_else(|| {
            ProviderError::BadResponse(format!("the web identity token for {subject} is not UTF-8"))
        })?;
        let output = self
            .client(None)
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name(session_name(session_name_base))
            .web_identity_token(token.trim())
            .send()
            .await
            .map_err(|e| from_sdk(&site, e))?;
        convert(output.credentials, &site)
    }

    /// Assumes `step.role_arn` with `credentials`.
    pub(crate) async fn assume_role(
        &self,
        credentials: Credentials,
        step: &RoleStep,
        session_name_base: &str,
    ) -> Result<Credentials, ProviderError> {
        let subject = format!("role {:?}", step.role_arn);
        let site = self.site("AssumeRole", &subject);
        let mut request = self
            .client(Some(credentials))
            .assume_role()
            .role_arn(&step.role_arn)
            .role_session_name(session_name(session_name_base))
            .set_external_id(step.external_id.clone());
        for (key, value) in &step.session_tags {
            let tag = aws_sdk_sts::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| {
                    ProviderError::InvalidStoreConfig(format!(
                        "spec.provider.aws.sessionTags: tag {key:?} is invalid: {e}"
                    ))
                })?;
            request = request.tags(tag);
        }
        for key in &step.transitive_tag_keys {
            request = request.transitive_tag_keys(key);
        }
        let output = request.send().await.map_err(|e| from_sdk(&site, e))?;
        convert(output.credentials, &site)
    }

    /// The ARN the credentials belong to (`GetCallerIdentity`; needs no permissions).
    pub(crate) async fn caller_identity(
        &self,
        credentials: Credentials,
    ) -> Result<String, ProviderError> {
        let site = self.site("GetCallerIdentity", "the store credentials");
        let output = self
            .client(Some(credentials))
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| from_sdk(&site, e))?;
        Ok(output.arn.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::session_name;

    #[test]
    fn session_names_are_valid() {
        let re = regex::Regex::new(r"^[\w+=,.@-]{2,64}$").expect("regex");
        for base in ["secretsync", "a b/c", "", &"x".repeat(100)] {
            let name = session_name(base);
            assert!(re.is_match(&name), "{name:?}");
        }
    }
}
