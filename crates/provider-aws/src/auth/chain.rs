//! The credential chain: a source (static keys, a ServiceAccount token, or the environment)
//! followed by `AssumeRole` steps (`additionalRoles` in order, then `role`).

use std::sync::Arc;

use aws_config::Region;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use secretsync_model::ProviderError;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::providers::AwsAuthSecretRef;

use super::sts::{RoleStep, Sts};
use crate::options::AwsOptions;

/// ServiceAccount annotation naming the role to assume with its token.
pub(crate) const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// ServiceAccount annotation overriding the token audience.
pub(crate) const AUDIENCE_ANNOTATION: &str = "eks.amazonaws.com/audience";
/// Audience of ServiceAccount tokens exchanged with STS.
pub(crate) const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";

/// Where the first credentials come from.
pub(crate) enum Source {
    /// `auth.secretRef`: keys read from Secrets.
    SecretRef {
        /// Reads the Secrets.
        resolver: Arc<dyn CredentialResolver>,
        /// The references.
        refs: AwsAuthSecretRef,
    },
    /// `auth.jwt.serviceAccountRef`: a TokenRequest token exchanged with
    /// `AssumeRoleWithWebIdentity` for the role in the account's annotation.
    ServiceAccount {
        /// Issues tokens and reads annotations.
        resolver: Arc<dyn CredentialResolver>,
        /// The account.
        account: ServiceAccountSelector,
    },
    /// No `auth`: IRSA environment variables (handled here, so STS calls use the endpoint
    /// override), otherwise the SDK's default chain.
    Environment {
        /// The SDK chain, built on first use.
        default_chain: tokio::sync::OnceCell<DefaultCredentialsChain>,
    },
}

/// Re-labels a resolver error with the store field it came from, keeping its kind.
pub(crate) fn in_field(err: ProviderError, field: &str) -> ProviderError {
    match err {
        ProviderError::NotFound(m) => ProviderError::NotFound(format!("{field}: {m}")),
        ProviderError::PermissionDenied(m) => {
            ProviderError::PermissionDenied(format!("{field}: {m}"))
        }
        ProviderError::Throttled {
            message,
            retry_after,
        } => ProviderError::Throttled {
            message: format!("{field}: {message}"),
            retry_after,
        },
        ProviderError::Unavailable(m) => ProviderError::Unavailable(format!("{field}: {m}")),
        ProviderError::InvalidStoreConfig(m) => {
            ProviderError::InvalidStoreConfig(format!("{field}: {m}"))
        }
        ProviderError::Unsupported(m) => ProviderError::Unsupported(format!("{field}: {m}")),
        ProviderError::BadResponse(m) => ProviderError::BadResponse(format!("{field}: {m}")),
        ProviderError::NotManaged(m) => ProviderError::NotManaged(format!("{field}: {m}")),
    }
}

async fn read_key(
    resolver: &dyn CredentialResolver,
    selector: &SecretKeySelector,
    field: &str,
) -> Result<String, ProviderError> {
    let value = resolver
        .secret_value(selector, None)
        .await
        .map_err(|e| in_field(e, field))?;
    let text = value.expose_str().ok_or_else(|| {
        ProviderError::InvalidStoreConfig(format!(
            "{field}: Secret {:?} key {:?} is not UTF-8 text",
            selector.name,
            selector.key.as_deref().unwrap_or_default()
        ))
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(ProviderError::InvalidStoreConfig(format!(
            "{field}: Secret {:?} key {:?} is empty",
            selector.name,
            selector.key.as_deref().unwrap_or_default()
        )));
    }
    Ok(text.to_string())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Produces fresh credentials for one store (uncached; see [`super::cache`]).
pub(crate) struct CredentialChain {
    pub(crate) source: Source,
    pub(crate) roles: Vec<RoleStep>,
    pub(crate) sts: Sts,
    pub(crate) region: String,
    pub(crate) options: AwsOptions,
}

impl CredentialChain {
    /// Runs the source and every role step.
    pub(crate) async fn load(&self) -> Result<Credentials, ProviderError> {
        let mut credentials = self.load_source().await?;
        for step in &self.roles {
            credentials = self
                .sts
                .assume_role(credentials, step, &self.options.role_session_name)
                .await?;
        }
        Ok(credentials)
    }

    async fn load_source(&self) -> Result<Credentials, ProviderError> {
        match &self.source {
            Source::SecretRef { resolver, refs } => {
                const BASE: &str = "spec.provider.aws.auth.secretRef";
                let access_key = read_key(
                    resolver.as_ref(),
                    &refs.access_key_id,
                    &format!("{BASE}.accessKeyIDSecretRef"),
                )
                .await?;
                let secret_key = read_key(
                    resolver.as_ref(),
                    &refs.secret_access_key,
                    &format!("{BASE}.secretAccessKeySecretRef"),
                )
                .await?;
                let session_token = match &refs.session_token {
                    Some(sel) => Some(
                        read_key(
                            resolver.as_ref(),
                            sel,
                            &format!("{BASE}.sessionTokenSecretRef"),
                        )
                        .await?,
                    ),
                    None => None,
                };
                Ok(Credentials::new(
                    access_key,
                    secret_key,
                    session_token,
                    None,
                    "secretsync-secret-ref",
                ))
            }
            Source::ServiceAccount { resolver, account } => {
                self.service_account(resolver.as_ref(), account).await
            }
            Source::Environment { default_chain } => self.environment(default_chain).await,
        }
    }

    async fn service_account(
        &self,
        resolver: &dyn CredentialResolver,
        account: &ServiceAccountSelector,
    ) -> Result<Credentials, ProviderError> {
        const FIELD: &str = "spec.provider.aws.auth.jwt.serviceAccountRef";
        let annotations = resolver
            .service_account_annotations(account)
            .await
            .map_err(|e| in_field(e, FIELD))?;
        let role_arn = annotations
            .get(ROLE_ARN_ANNOTATION)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                ProviderError::InvalidStoreConfig(format!(
                    "{FIELD}: ServiceAccount {:?} has no {ROLE_ARN_ANNOTATION} annotation; \
                     an IAM role must be associated with it",
                    account.name
                ))
            })?;
        let mut audiences = vec![
            annotations
                .get(AUDIENCE_ANNOTATION)
                .filter(|a| !a.is_empty())
                .cloned()
                .unwrap_or_else(|| DEFAULT_AUDIENCE.to_string()),
        ];
        audiences.extend(account.audiences.iter().cloned());
        let token = resolver
            .service_account_token(
                account,
                &audiences,
                Some(self.options.service_account_token_lifetime),
            )
            .await
            .map_err(|e| in_field(e, FIELD))?;
        self.sts
            .assume_role_with_web_identity(role_arn, &token, &self.options.role_session_name)
            .await
    }

    async fn environment(
        &self,
        default_chain: &tokio::sync::OnceCell<DefaultCredentialsChain>,
    ) -> Result<Credentials, ProviderError> {
        // IRSA: same precedence as the SDK chain (environment keys first), but the STS call is
        // ours so it honours the endpoint override.
        if env("AWS_ACCESS_KEY_ID").is_none()
            && let (Some(role_arn), Some(token_file)) =
                (env("AWS_ROLE_ARN"), env("AWS_WEB_IDENTITY_TOKEN_FILE"))
        {
            let token = tokio::fs::read(&token_file).await.map_err(|e| {
                ProviderError::Unavailable(format!(
                    "reading the web identity token file {token_file:?} \
                     (AWS_WEB_IDENTITY_TOKEN_FILE): {e}"
                ))
            })?;
            let token = secretsync_model::SecretValue::new(token);
            let session = env("AWS_ROLE_SESSION_NAME")
                .unwrap_or_else(|| self.options.role_session_name.clone());
            return self
                .sts
                .assume_role_with_web_identity(&role_arn, &token, &session)
                .await;
        }
        let chain = default_chain
            .get_or_init(|| async {
                DefaultCredentialsChain::builder()
                    .region(Region::new(self.region.clone()))
                    .build()
                    .await
            })
            .await;
        chain.provide_credentials().await.map_err(|e| match e {
            CredentialsError::CredentialsNotLoaded(_) => ProviderError::PermissionDenied(format!(
                "the store sets no spec.provider.aws.auth and the default AWS credential chain \
                 (environment, profile, web identity, container/pod identity, instance metadata) \
                 found no credentials: {}",
                DisplayErrorContext(&e)
            )),
            other => ProviderError::Unavailable(format!(
                "the default AWS credential chain failed: {}",
                DisplayErrorContext(&other)
            )),
        })
    }
}
