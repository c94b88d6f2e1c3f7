//! Credentials for one store: the chain built from `spec.provider.aws`, cached per provider
//! instance.

mod cache;
mod chain;
mod sts;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use secretsync_model::ProviderError;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::provider::StoreContext;
use secretsync_model::providers::{AwsAuth, AwsSessionTagsPolicy, AwsSpec};

use cache::CachedCredentials;
pub(crate) use cache::CachedCredentialsProvider;
use chain::{CredentialChain, Source};
use sts::{RoleStep, Sts};

use crate::options::AwsOptions;

/// Tag keys the `Simple`/`Custom` session tag policies add.
const RESERVED_TAG_KEYS: [&str; 3] = ["esoNamespace", "esoStoreName", "esoStoreKind"];

/// The store's credentials.
#[derive(Clone)]
pub(crate) struct Auth {
    cache: Arc<CachedCredentials>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth")
    }
}

/// Session tags for the final `role`.
fn session_tags(
    context: &StoreContext,
    spec: &AwsSpec,
) -> Result<Vec<(String, String)>, ProviderError> {
    let mut tags: Vec<(String, String)> = spec
        .session_tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    let policy = spec.session_tags_policy.unwrap_or_default();
    if policy == AwsSessionTagsPolicy::None {
        return Ok(tags);
    }
    let namespace = context
        .reader_namespace
        .clone()
        .or_else(|| context.store.namespace.clone());
    if let Some(ns) = namespace {
        tags.push(("esoNamespace".into(), ns));
    }
    tags.push(("esoStoreName".into(), context.store.name.clone()));
    tags.push(("esoStoreKind".into(), context.store.kind.to_string()));
    if policy == AwsSessionTagsPolicy::Custom {
        for (key, value) in &spec.custom_session_tags {
            if RESERVED_TAG_KEYS.contains(&key.as_str()) {
                return Err(ProviderError::InvalidStoreConfig(format!(
                    "spec.provider.aws.customSessionTags: key {key:?} is reserved \
                     (esoNamespace, esoStoreName and esoStoreKind are added automatically)"
                )));
            }
            tags.push((key.clone(), value.clone()));
        }
    }
    Ok(tags)
}

/// True when credential references have no namespace, so on a ClusterSecretStore they
/// resolve in the reading ExternalSecret's namespace (ESO's "referent" authentication).
pub(crate) fn is_referent(auth: &AwsAuth) -> bool {
    if let Some(sa) = auth
        .jwt
        .as_ref()
        .and_then(|j| j.service_account_ref.as_ref())
        && sa.namespace.is_none()
    {
        return true;
    }
    if let Some(r) = &auth.secret_ref {
        return r.access_key_id.namespace.is_none()
            || r.secret_access_key.namespace.is_none()
            || r.session_token
                .as_ref()
                .is_some_and(|t| t.namespace.is_none());
    }
    false
}

/// Whether validation is impossible without a reader namespace.
pub(crate) fn needs_reader_namespace(context: &StoreContext, auth: &AwsAuth) -> bool {
    context.store.kind == StoreKind::ClusterSecretStore
        && context.reader_namespace.is_none()
        && is_referent(auth)
}

impl Auth {
    /// Builds the chain for a store. `base` has region, endpoint, timeouts and retries.
    pub(crate) fn new(
        context: &StoreContext,
        spec: &AwsSpec,
        resolver: Arc<dyn CredentialResolver>,
        base: SdkConfig,
        options: &AwsOptions,
    ) -> Result<Self, ProviderError> {
        let source = match (&spec.auth.secret_ref, &spec.auth.jwt) {
            (Some(_), Some(_)) => {
                return Err(ProviderError::InvalidStoreConfig(
                    "spec.provider.aws.auth: expected at most one of secretRef and jwt".into(),
                ));
            }
            (Some(refs), None) => {
                for (field, sel) in [
                    ("accessKeyIDSecretRef", &refs.access_key_id),
                    ("secretAccessKeySecretRef", &refs.secret_access_key),
                ] {
                    if sel.name.is_empty() {
                        return Err(ProviderError::InvalidStoreConfig(format!(
                            "spec.provider.aws.auth.secretRef.{field}.name: expected the name \
                             of a Secret"
                        )));
                    }
                }
                Source::SecretRef {
                    resolver,
                    refs: refs.clone(),
                }
            }
            (None, Some(jwt)) => {
                let account = jwt.service_account_ref.clone().ok_or_else(|| {
                    ProviderError::InvalidStoreConfig(
                        "spec.provider.aws.auth.jwt.serviceAccountRef: expected a ServiceAccount \
                         reference"
                            .into(),
                    )
                })?;
                if account.name.is_empty() {
                    return Err(ProviderError::InvalidStoreConfig(
                        "spec.provider.aws.auth.jwt.serviceAccountRef.name: expected the name of \
                         a ServiceAccount"
                            .into(),
                    ));
                }
                Source::ServiceAccount { resolver, account }
            }
            (None, None) => {
                options.ambient_identity.check(
                    &context.store,
                    "spec.provider.aws.auth",
                    "a store without auth uses the operator's own AWS credentials \
                     (environment, IRSA, pod identity, instance profile)",
                    "spec.provider.aws.auth.secretRef or spec.provider.aws.auth.jwt.serviceAccountRef",
                )?;
                Source::Environment {
                    default_chain: tokio::sync::OnceCell::new(),
                }
            }
        };

        let mut roles: Vec<RoleStep> = spec
            .additional_roles
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| RoleStep {
                role_arn: r.clone(),
                external_id: None,
                session_tags: Vec::new(),
                transitive_tag_keys: Vec::new(),
            })
            .collect();
        let tags = session_tags(context, spec)?;
        if let Some(role) = spec.role.as_ref().filter(|r| !r.is_empty()) {
            roles.push(RoleStep {
                role_arn: role.clone(),
                external_id: spec.external_id.clone().filter(|e| !e.is_empty()),
                transitive_tag_keys: if tags.is_empty() {
                    Vec::new()
                } else {
                    spec.transitive_tag_keys.clone()
                },
                session_tags: tags,
            });
        }

        let chain = CredentialChain {
            source,
            roles,
            sts: Sts::new(base, spec.region.clone(), options.clone()),
            region: spec.region.clone(),
            options: options.clone(),
        };
        Ok(Auth {
            cache: Arc::new(CachedCredentials::new(
                chain,
                options.static_credentials_ttl,
                options.clock.clone(),
            )),
        })
    }

    /// Cached credentials (loads them when missing or close to expiry).
    pub(crate) async fn credentials(&self) -> Result<Credentials, ProviderError> {
        self.cache.get().await
    }

    /// The credentials provider to hand to SDK clients.
    pub(crate) fn sdk_provider(&self) -> CachedCredentialsProvider {
        CachedCredentialsProvider(self.cache.clone())
    }

    /// Checks the credentials with STS `GetCallerIdentity`; returns the caller ARN.
    pub(crate) async fn check(&self) -> Result<String, ProviderError> {
        let credentials = self.credentials().await?;
        self.cache.chain().sts.caller_identity(credentials).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
    use secretsync_model::provider::StoreId;
    use secretsync_model::providers::{AwsAuthSecretRef, AwsJwtAuth, AwsTag};

    fn context(kind: StoreKind, reader: Option<&str>) -> StoreContext {
        StoreContext {
            store: StoreId {
                kind,
                namespace: None,
                name: "aws".into(),
            },
            reader_namespace: reader.map(Into::into),
        }
    }

    #[test]
    fn simple_policy_adds_store_tags() {
        let spec = AwsSpec {
            session_tags: vec![AwsTag {
                key: "team".into(),
                value: "a".into(),
            }],
            session_tags_policy: Some(AwsSessionTagsPolicy::Simple),
            ..AwsSpec::default()
        };
        let tags = session_tags(&context(StoreKind::ClusterSecretStore, Some("ns1")), &spec)
            .expect("tags");
        assert_eq!(
            tags,
            vec![
                ("team".to_string(), "a".to_string()),
                ("esoNamespace".to_string(), "ns1".to_string()),
                ("esoStoreName".to_string(), "aws".to_string()),
                ("esoStoreKind".to_string(), "ClusterSecretStore".to_string()),
            ]
        );
    }

    #[test]
    fn custom_policy_rejects_reserved_keys() {
        let spec = AwsSpec {
            session_tags_policy: Some(AwsSessionTagsPolicy::Custom),
            custom_session_tags: [("esoStoreName".to_string(), "x".to_string())].into(),
            ..AwsSpec::default()
        };
        let err =
            session_tags(&context(StoreKind::SecretStore, None), &spec).expect_err("reserved key");
        assert!(err.to_string().contains("customSessionTags"), "{err}");
    }

    #[test]
    fn referent_detection() {
        let sa = |ns: Option<&str>| AwsAuth {
            jwt: Some(AwsJwtAuth {
                service_account_ref: Some(ServiceAccountSelector {
                    name: "sa".into(),
                    namespace: ns.map(Into::into),
                    audiences: vec![],
                }),
            }),
            secret_ref: None,
        };
        assert!(is_referent(&sa(None)));
        assert!(!is_referent(&sa(Some("ns"))));
        let keys = AwsAuth {
            secret_ref: Some(AwsAuthSecretRef {
                access_key_id: SecretKeySelector {
                    name: "k".into(),
                    namespace: Some("ns".into()),
                    key: Some("id".into()),
                },
                secret_access_key: SecretKeySelector {
                    name: "k".into(),
                    namespace: None,
                    key: Some("secret".into()),
                },
                session_token: None,
            }),
            jwt: None,
        };
        assert!(is_referent(&keys));
        assert!(needs_reader_namespace(
            &context(StoreKind::ClusterSecretStore, None),
            &keys
        ));
        assert!(!needs_reader_namespace(
            &context(StoreKind::SecretStore, None),
            &keys
        ));
        assert!(!is_referent(&AwsAuth::default()));
    }
}
