//! [`VaultProvider`]: the `SecretProvider` for Vault/OpenBao KV stores.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::external_secret::StoreKind;
use secretsync_model::provider::{
    FetchRequest, FindRequest, ProviderCapabilities, SecretProvider, StoreContext, Validation,
};
use secretsync_model::providers::{OpenBaoSpec, VaultSpec};
use secretsync_model::secret_store::{RetrySettings, StoreCapabilities};
use secretsync_model::{Backoff, ProviderError, RemoteSecret, RetryPolicy};
use secretsync_provider_support::retry::{RetryDefaults, retry_policy};
use std::time::Duration;
use tokio::sync::OnceCell;
use url::Url;
use zeroize::Zeroizing;

use crate::auth::{AuthMethod, JwtSource, RoleId};
use crate::http::{Call, HttpSettings, Response, VaultHttp, header_map};
use crate::options::VaultOptions;
use crate::paths::KvLayout;
use crate::session::Sessions;
use crate::tls;

const FIELD: &str = "spec.provider.vault";
const OPENBAO_FIELD: &str = "spec.provider.openBao";

/// ESO's Vault client retries: without `retrySettings` the Vault API client's defaults (2
/// retries, 1 to 1.5 s apart); with `retrySettings` but no `maxRetries`, none (ESO then relies
/// on reconciliation); `retryInterval` is a fixed wait.
pub const RETRY_DEFAULTS: RetryDefaults = RetryDefaults {
    without_settings: RetryPolicy {
        max_retries: 2,
        backoff: Backoff::Exponential {
            initial: Duration::from_secs(1),
            max: Duration::from_millis(1500),
        },
    },
    max_retries_when_unset: 0,
    max_retries_counts_attempts: false,
};

/// A Vault/OpenBao KV provider for one store and credential identity.
///
/// Cheap to clone: clones share the token and the HTTP connection pool.
#[derive(Clone)]
pub struct VaultProvider {
    pub(crate) inner: Arc<Inner>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for VaultProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultProvider")
            .field("store", &self.inner.what)
            .field("server", &self.inner.server.as_str())
            .field("auth", &self.inner.auth.describe())
            .finish_non_exhaustive()
    }
}

/// Shared state of a provider instance.
pub(crate) struct Inner {
    /// `Vault <kind> <ns>/<name>`, the prefix of every message.
    pub what: String,
    /// `spec.provider.vault` or `spec.provider.openBao`.
    pub field: &'static str,
    pub context: StoreContext,
    pub spec: VaultSpec,
    pub server: Url,
    pub layout: KvLayout,
    pub auth: AuthMethod,
    pub options: VaultOptions,
    pub credentials: Arc<dyn CredentialResolver>,
    headers: HeaderMap,
    ca_bundle_pem: Option<Vec<u8>>,
    http: OnceCell<Arc<VaultHttp>>,
    pub sessions: Sessions,
}

/// An authenticated request (the token is added per attempt).
pub(crate) struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    /// JSON body (writes); zeroized after sending.
    pub body: Option<Zeroizing<Vec<u8>>>,
}

impl Request {
    /// A request without query or body.
    pub fn new(method: Method, path: String) -> Self {
        Request {
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }
}

impl VaultProvider {
    /// Validates the store spec and prepares the provider. Performs no network I/O: the HTTP
    /// client is built and the login happens on first use.
    pub fn new(
        context: StoreContext,
        spec: VaultSpec,
        credentials: Arc<dyn CredentialResolver>,
        options: VaultOptions,
    ) -> Result<Self, ProviderError> {
        Self::build(context, spec, FIELD, credentials, options)
    }

    /// A provider for ESO's `openBao` block (ESO v2.7): the same client, with the block's
    /// defaults (mount `kv`) and its field names in messages.
    pub fn new_openbao(
        context: StoreContext,
        spec: &OpenBaoSpec,
        credentials: Arc<dyn CredentialResolver>,
        options: VaultOptions,
    ) -> Result<Self, ProviderError> {
        Self::build(
            context,
            spec.to_vault_spec(),
            OPENBAO_FIELD,
            credentials,
            options,
        )
    }

    fn build(
        context: StoreContext,
        spec: VaultSpec,
        field: &'static str,
        credentials: Arc<dyn CredentialResolver>,
        options: VaultOptions,
    ) -> Result<Self, ProviderError> {
        let what = if field == OPENBAO_FIELD {
            format!("OpenBao {}", context.store)
        } else {
            format!("Vault {}", context.store)
        };
        let server = Url::parse(spec.server.trim()).ok().filter(|u| {
            matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base() && u.host().is_some()
        });
        let Some(server) = server else {
            return Err(ProviderError::InvalidStoreConfig(format!(
                "{what}: {field}.server: expected an http(s) URL such as https://vault.example:8200, got {:?}",
                spec.server
            )));
        };
        let auth = AuthMethod::from_spec(spec.auth.as_ref(), &options, field)
            .map_err(|e| prefix_error(e, &what))?;
        check_identity(&auth, &context, &options, field)?;
        let headers = header_map(
            &spec.headers,
            spec.read_your_writes && spec.forward_inconsistent,
        )
        .map_err(|e| ProviderError::InvalidStoreConfig(format!("{what}: {field}.{e}")))?;
        let ca_bundle_pem = spec
            .ca_bundle
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .map(|b| tls::decode_ca_bundle(b, field))
            .transpose()
            .map_err(|e| prefix_error(e, &what))?;
        if options.find_concurrency == 0 {
            return Err(ProviderError::InvalidStoreConfig(
                "VaultOptions.find_concurrency: expected at least 1".into(),
            ));
        }
        Ok(VaultProvider {
            inner: Arc::new(Inner {
                what,
                field,
                layout: KvLayout::new(spec.path.as_deref(), spec.version),
                context,
                server,
                auth,
                credentials,
                headers,
                ca_bundle_pem,
                http: OnceCell::new(),
                sessions: Sessions::new(options.clock.clone()),
                options,
                spec,
            }),
            retry: RETRY_DEFAULTS.without_settings,
        })
    }

    /// Applies the store's `retrySettings` (see [`RETRY_DEFAULTS`]); the engine retries
    /// transient failures under the resulting policy.
    pub fn with_retry_settings(
        mut self,
        settings: Option<&RetrySettings>,
    ) -> Result<Self, ProviderError> {
        self.retry = retry_policy(settings, &RETRY_DEFAULTS)
            .map_err(|e| prefix_error(e, &self.inner.what))?;
        Ok(self)
    }

    /// The accessor of the token in use (not a credential: it identifies the token for
    /// `lookup-accessor`/`revoke-accessor` by someone allowed to), for tests and audits.
    pub fn token_accessor(&self) -> Option<String> {
        self.inner.sessions.accessor()
    }

    /// Number of login calls this instance made (token reuse metric).
    pub fn login_count(&self) -> u64 {
        self.inner.sessions.logins()
    }

    /// Number of token renewals this instance made.
    pub fn renewal_count(&self) -> u64 {
        self.inner.sessions.renewals()
    }
}

/// The pod's own ServiceAccount token and the CLI's environment token are the operator's (or
/// user's) identity: refused for SecretStores unless the options allow it.
fn check_identity(
    auth: &AuthMethod,
    context: &StoreContext,
    options: &VaultOptions,
    field: &str,
) -> Result<(), ProviderError> {
    match auth {
        AuthMethod::Kubernetes {
            jwt: JwtSource::File(_),
            ..
        } => options.ambient_identity.check(
            &context.store,
            &format!("{field}.auth.kubernetes"),
            "kubernetes auth without serviceAccountRef or secretRef presents the operator's own \
             ServiceAccount token",
            &format!("{field}.auth.kubernetes.serviceAccountRef or .secretRef"),
        ),
        AuthMethod::Environment(_) => options.ambient_identity.check(
            &context.store,
            &format!("{field}.auth"),
            "a store without auth uses the token from the environment",
            &format!("an auth method in {field}.auth"),
        ),
        _ => Ok(()),
    }
}

fn prefix_error(error: ProviderError, what: &str) -> ProviderError {
    match error {
        ProviderError::InvalidStoreConfig(m) => {
            ProviderError::InvalidStoreConfig(format!("{what}: {m}"))
        }
        ProviderError::Unsupported(m) => ProviderError::Unsupported(format!("{what}: {m}")),
        other => other,
    }
}

impl Inner {
    /// The namespace reads are sent to.
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.spec.namespace.as_deref().filter(|n| !n.is_empty())
    }

    /// The namespace logins (and token calls) are sent to: `auth.namespace`, else the store's.
    pub(crate) fn login_namespace(&self) -> Option<&str> {
        self.spec
            .auth
            .as_ref()
            .and_then(|a| a.namespace.as_deref())
            .filter(|n| !n.is_empty())
            .or_else(|| self.namespace())
    }

    /// The HTTP client, built on first use (it needs credentials for TLS material).
    pub(crate) async fn http(&self) -> Result<Arc<VaultHttp>, ProviderError> {
        self.http
            .get_or_try_init(|| async {
                let mut only_roots = Vec::new();
                if let Some(pem) = &self.ca_bundle_pem {
                    only_roots.push(pem.clone());
                }
                let store_ns = self.context.store.namespace.as_deref();
                if let Some(pem) = tls::ca_provider_pem(
                    &self.spec,
                    store_ns,
                    self.credentials.as_ref(),
                    self.field,
                )
                .await?
                {
                    only_roots.push(pem);
                }
                let mut merged_roots = Vec::new();
                if only_roots.is_empty() {
                    merged_roots = self.options.extra_root_certificates_pem.clone();
                } else {
                    only_roots.extend(self.options.extra_root_certificates_pem.iter().cloned());
                }
                let identity =
                    tls::client_identity(&self.spec, &self.auth, self.credentials.as_ref()).await?;
                let http = VaultHttp::new(HttpSettings {
                    server: self.server.clone(),
                    only_roots_pem: only_roots,
                    merged_roots_pem: merged_roots,
                    identity_pem: identity,
                    headers: self.headers.clone(),
                    read_your_writes: self.spec.read_your_writes,
                    request_timeout: self.options.request_timeout,
                    connect_timeout: self.options.connect_timeout,
                    limits: self.options.limits,
                    clock: self.options.clock.clone(),
                })
                .map_err(|m| ProviderError::InvalidStoreConfig(format!("{}: {m}", self.what)))?;
                Ok(Arc::new(http))
            })
            .await
            .cloned()
    }

    /// Sends an authenticated request. On 403 it checks the token: a rejected token is
    /// replaced (one login, shared by concurrent callers) and the request retried once; a
    /// valid token means a policy denial, reported as is.
    pub(crate) async fn send_authed(
        &self,
        request: &Request,
        what: &str,
    ) -> Result<Response, ProviderError> {
        let http = self.http().await?;
        let session = self.session().await?;
        let call = |token| Call {
            method: request.method.clone(),
            path: &request.path,
            query: request.query.clone(),
            token: Some(token),
            namespace: self.namespace(),
            body: request.body.clone(),
        };
        match http.send(call(&session.value.token)).await {
            Ok(r) => Ok(r),
            Err(f) if f.status() == Some(StatusCode::FORBIDDEN) => {
                if self.token_is_valid(&session).await? {
                    return Err(f.into_provider_error(what));
                }
                self.invalidate(session.generation);
                let session = self.session().await?;
                http.send(call(&session.value.token))
                    .await
                    .map_err(|f| f.into_provider_error(what))
            }
            Err(f) => Err(f.into_provider_error(what)),
        }
    }

    /// Whether validation needs the namespace of a reading ExternalSecret.
    fn is_referent(&self) -> bool {
        if self.context.store.kind != StoreKind::ClusterSecretStore
            || self.context.reader_namespace.is_some()
        {
            return false;
        }
        let jwt_referent = |j: &JwtSource| match j {
            JwtSource::Secret(s) => s.namespace.is_none(),
            JwtSource::TokenRequest { account, .. } => account.namespace.is_none(),
            JwtSource::File(_) => false,
        };
        match &self.auth {
            AuthMethod::Token(s) => s.namespace.is_none(),
            AuthMethod::Environment(_) => false,
            AuthMethod::AppRole {
                role_id,
                secret_ref,
                ..
            } => {
                secret_ref.namespace.is_none()
                    || matches!(role_id, RoleId::Secret(s) if s.namespace.is_none())
            }
            AuthMethod::Kubernetes { jwt, .. } | AuthMethod::Jwt { jwt, .. } => jwt_referent(jwt),
            AuthMethod::UserPass { secret_ref, .. } => secret_ref.namespace.is_none(),
            AuthMethod::Cert {
                cert_ref, key_ref, ..
            } => cert_ref.namespace.is_none() || key_ref.namespace.is_none(),
        }
    }
}

#[async_trait]
impl SecretProvider for VaultProvider {
    fn capabilities(&self) -> ProviderCapabilities {
        let v2 = self.inner.layout.version == secretsync_model::providers::VaultKvVersion::V2;
        ProviderCapabilities {
            store: StoreCapabilities::ReadWrite,
            find: true,
            versions: v2,
            metadata: v2,
            batch: false,
        }
    }

    async fn fetch(&self, request: &FetchRequest) -> Result<RemoteSecret, ProviderError> {
        if request.metadata {
            self.inner.read_metadata_value(&request.key).await
        } else {
            self.inner
                .read_secret(&request.key, request.version.as_deref())
                .await
        }
    }

    async fn find(
        &self,
        request: &FindRequest,
    ) -> Result<BTreeMap<String, RemoteSecret>, ProviderError> {
        self.inner.find(request).await
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn writer(&self) -> Option<&dyn secretsync_model::SecretWriter> {
        Some(self)
    }

    async fn validate(&self) -> Result<Validation, ProviderError> {
        let inner = &self.inner;
        if inner.is_referent() {
            return Ok(Validation::Unknown(format!(
                "{}: credentials are read from the namespace of each ExternalSecret",
                inner.what
            )));
        }
        let request = Request::new(Method::GET, "auth/token/lookup-self".into());
        let what = format!(
            "{}: checking the token ({})",
            inner.what,
            inner.auth.describe()
        );
        inner.send_authed(&request, &what).await?;
        Ok(Validation::Ready)
    }

    async fn close(&self) {
        self.inner.revoke().await;
    }
}
