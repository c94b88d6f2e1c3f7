//! Where a store's tokens come from: the store's `authType` and credential references,
//! resolved through the [`CredentialResolver`] each time a token is acquired (so rotated
//! credentials are picked up at the next refresh).

use std::sync::Arc;

use secrecy::SecretString;
use secretsync_model::ProviderError;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::providers::{AzureAuthType, AzureKvAuth, AzureKvSpec};

use super::IssuedToken;
use super::certificate::ClientCertificate;
use super::entra::{ClientProof, TokenRequestLabel, client_credentials};
use super::managed_identity;
use crate::cloud::CloudEndpoints;
use crate::options::{AzureOptions, OperatorWorkloadIdentity};

/// Audience of ServiceAccount tokens exchanged with Entra ID.
pub const WORKLOAD_IDENTITY_AUDIENCE: &str = "api://AzureADTokenExchange";
/// ServiceAccount annotation holding the app (client) id.
pub const ANNOTATION_CLIENT_ID: &str = "azure.workload.identity/client-id";
/// ServiceAccount annotation holding the tenant id.
pub const ANNOTATION_TENANT_ID: &str = "azure.workload.identity/tenant-id";

const FIELD: &str = "spec.provider.azurekv";

/// The client credential of a service principal.
#[derive(Clone, Debug)]
enum ClientCredentialRef {
    Secret(SecretKeySelector),
    Certificate(SecretKeySelector),
}

/// One of the supported authentication methods, validated.
#[derive(Clone, Debug)]
enum Method {
    ServicePrincipal {
        tenant_id: String,
        client_id: SecretKeySelector,
        credential: ClientCredentialRef,
    },
    ManagedIdentity {
        client_id: Option<String>,
    },
    WorkloadServiceAccount {
        account: ServiceAccountSelector,
        auth: Option<Box<AzureKvAuth>>,
        spec_tenant: Option<String>,
    },
    WorkloadOperator(OperatorWorkloadIdentity),
}

/// Acquires tokens for one store.
pub(crate) struct TokenSource {
    method: Method,
    credentials: Arc<dyn CredentialResolver>,
    cloud: CloudEndpoints,
    http: reqwest::Client,
    options: Arc<AzureOptions>,
}

fn invalid(field: &str, expected: &str) -> ProviderError {
    ProviderError::InvalidStoreConfig(format!("{FIELD}.{field}: expected {expected}"))
}

fn selector_label(s: &SecretKeySelector) -> String {
    match &s.namespace {
        Some(ns) => format!(
            "Secret {ns}/{} key {:?}",
            s.name,
            s.key.as_deref().unwrap_or("")
        ),
        None => format!("Secret {} key {:?}", s.name, s.key.as_deref().unwrap_or("")),
    }
}

impl TokenSource {
    /// Validates the spec's authentication settings (no I/O).
    pub(crate) fn new(
        spec: &AzureKvSpec,
        credentials: Arc<dyn CredentialResolver>,
        cloud: CloudEndpoints,
        http: reqwest::Client,
        options: Arc<AzureOptions>,
    ) -> Result<Self, ProviderError> {
        let tenant = spec.tenant_id.clone().filter(|t| !t.trim().is_empty());
        let method = match spec.auth_type {
            AzureAuthType::ServicePrincipal => {
                let tenant_id = tenant.ok_or_else(|| {
                    invalid("tenantId", "the tenant id (required for authType ServicePrincipal)")
                })?;
                let auth = spec.auth_secret_ref.as_ref().ok_or_else(|| {
                    invalid("authSecretRef", "clientId and clientSecret or clientCertificate references (required for authType ServicePrincipal)")
                })?;
                let client_id = auth.client_id.clone().ok_or_else(|| {
                    invalid("authSecretRef.clientId", "a reference to the client id")
                })?;
                let credential = match (&auth.client_secret, &auth.client_certificate) {
                    (Some(s), None) => ClientCredentialRef::Secret(s.clone()),
                    (None, Some(c)) => ClientCredentialRef::Certificate(c.clone()),
                    (None, None) => {
                        return Err(invalid(
                            "authSecretRef",
                            "clientSecret or clientCertificate",
                        ));
                    }
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "authSecretRef",
                            "either clientSecret or clientCertificate, not both",
                        ));
                    }
                };
                Method::ServicePrincipal {
                    tenant_id: tenant_id.trim().to_string(),
                    client_id,
                    credential,
                }
            }
            AzureAuthType::ManagedIdentity => Method::ManagedIdentity {
                client_id: spec.identity_id.clone().filter(|i| !i.trim().is_empty()),
            },
            AzureAuthType::WorkloadIdentity => match &spec.service_account_ref {
                Some(account) => {
                    if let Some(auth) = &spec.auth_secret_ref
                        && auth.client_id.is_none()
                    {
                        return Err(invalid(
                            "authSecretRef.clientId",
                            "a reference to the client id when authSecretRef is set with authType WorkloadIdentity",
                        ));
                    }
                    Method::WorkloadServiceAccount {
                        account: account.clone(),
                        auth: spec.auth_secret_ref.clone().map(Box::new),
                        spec_tenant: tenant,
                    }
                }
                None => Method::WorkloadOperator(
                    options.operator_workload_identity.clone().ok_or_else(|| {
                        invalid(
                            "serviceAccountRef",
                            "a ServiceAccount, or the operator's own workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID) when it is omitted",
                        )
                    })?,
                ),
            },
        };
        Ok(TokenSource {
            method,
            credentials,
            cloud,
            http,
            options,
        })
    }

    /// A short description for logs and errors (ids, no secrets).
    pub(crate) fn describe(&self) -> String {
        match &self.method {
            Method::ServicePrincipal {
                tenant_id,
                credential,
                ..
            } => match credential {
                ClientCredentialRef::Secret(_) => {
                    format!("ServicePrincipal (client secret, tenant {tenant_id})")
                }
                ClientCredentialRef::Certificate(_) => {
                    format!("ServicePrincipal (client certificate, tenant {tenant_id})")
                }
            },
            Method::ManagedIdentity { client_id: None } => {
                "ManagedIdentity (system-assigned)".into()
            }
            Method::ManagedIdentity {
                client_id: Some(id),
            } => format!("ManagedIdentity (client id {id})"),
            Method::WorkloadServiceAccount { account, .. } => format!(
                "WorkloadIdentity (ServiceAccount {}{})",
                account
                    .namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default(),
                account.name
            ),
            Method::WorkloadOperator(op) => format!(
                "WorkloadIdentity (operator identity, client id {})",
                op.client_id
            ),
        }
    }

    /// Whether credentials depend on the reading namespace (ClusterSecretStore references
    /// without a namespace), as ESO's `isReferentSpec`.
    pub(crate) fn is_referent(&self) -> bool {
        match &self.method {
            Method::ServicePrincipal {
                client_id,
                credential,
                ..
            } => {
                let cred = match credential {
                    ClientCredentialRef::Secret(s) | ClientCredentialRef::Certificate(s) => s,
                };
                client_id.namespace.is_none() || cred.namespace.is_none()
            }
            Method::WorkloadServiceAccount { account, .. } => account.namespace.is_none(),
            _ => false,
        }
    }

    async fn read_text(
        &self,
        selector: &SecretKeySelector,
        field: &str,
    ) -> Result<String, ProviderError> {
        let value = self.credentials.secret_value(selector, None).await?;
        let text = value.expose_str().ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!(
                "{FIELD}.{field} ({}): expected UTF-8 text",
                selector_label(selector)
            ))
        })?;
        let text = text.trim();
        if text.is_empty() {
            return Err(ProviderError::InvalidStoreConfig(format!(
                "{FIELD}.{field} ({}): expected a non-empty value",
                selector_label(selector)
            )));
        }
        Ok(text.to_string())
    }

    /// Acquires a new token from the issuer.
    pub(crate) async fn acquire(&self) -> Result<IssuedToken, ProviderError> {
        let scope = self.cloud.key_vault_scope();
        match &self.method {
            Method::ServicePrincipal {
                tenant_id,
                client_id,
                credential,
            } => {
                let client_id = self.read_text(client_id, "authSecretRef.clientId").await?;
                let endpoint = self.cloud.token_endpoint(tenant_id);
                match credential {
                    ClientCredentialRef::Secret(selector) => {
                        let value = self.credentials.secret_value(selector, None).await?;
                        let secret = SecretString::from(
                            value
                                .expose_str()
                                .ok_or_else(|| invalid("authSecretRef.clientSecret", "UTF-8 text"))?
                                .to_string(),
                        );
                        let label = TokenRequestLabel {
                            credential: "client secret",
                            client_id: &client_id,
                            tenant_id,
                        };
                        client_credentials(
                            &self.http,
                            &self.options,
                            &endpoint,
                            &scope,
                            ClientProof::Secret(&secret),
                            &label,
                        )
                        .await
                    }
                    ClientCredentialRef::Certificate(selector) => {
                        let pem = self.credentials.secret_value(selector, None).await?;
                        let origin = format!(
                            "{FIELD}.authSecretRef.clientCertificate ({})",
                            selector_label(selector)
                        );
                        let cert = ClientCertificate::from_pem(pem.expose(), &origin)?;
                        let assertion = cert.assertion(&client_id, &endpoint, unix_now())?;
                        let label = TokenRequestLabel {
                            credential: "certificate assertion",
                            client_id: &client_id,
                            tenant_id,
                        };
                        client_credentials(
                            &self.http,
                            &self.options,
                            &endpoint,
                            &scope,
                            ClientProof::Assertion(&assertion),
                            &label,
                        )
                        .await
                    }
                }
            }
            Method::ManagedIdentity { client_id } => {
                managed_identity::acquire(
                    &self.http,
                    &self.options,
                    &self.options.managed_identity,
                    &self.cloud.key_vault_resource,
                    client_id.as_deref(),
                )
                .await
            }
            Method::WorkloadServiceAccount {
                account,
                auth,
                spec_tenant,
            } => {
                let (client_id, tenant_id) = self
                    .workload_ids(account, auth.as_deref(), spec_tenant.as_deref())
                    .await?;
                let mut audiences = vec![WORKLOAD_IDENTITY_AUDIENCE.to_string()];
                audiences.extend(
                    account
                        .audiences
                        .iter()
                        .filter(|a| a.as_str() != WORKLOAD_IDENTITY_AUDIENCE)
                        .cloned(),
                );
                let token = self
                    .credentials
                    .service_account_token(account, &audiences, None)
                    .await?;
                let assertion = SecretString::from(
                    token
                        .expose_str()
                        .ok_or_else(|| {
                            ProviderError::BadResponse(format!(
                                "ServiceAccount {:?}: the issued token is not UTF-8",
                                account.name
                            ))
                        })?
                        .trim()
                        .to_string(),
                );
                let endpoint = self.cloud.token_endpoint(&tenant_id);
                let label = TokenRequestLabel {
                    credential: "federated ServiceAccount token",
                    client_id: &client_id,
                    tenant_id: &tenant_id,
                };
                client_credentials(
                    &self.http,
                    &self.options,
                    &endpoint,
                    &scope,
                    ClientProof::Assertion(&assertion),
                    &label,
                )
                .await
            }
            Method::WorkloadOperator(op) => {
                let token = tokio::fs::read_to_string(&op.token_file)
                    .await
                    .map_err(|e| {
                        ProviderError::Unavailable(format!(
                            "WorkloadIdentity: reading the operator's federated token file {}: {e}",
                            op.token_file.display()
                        ))
                    })?;
                let assertion = SecretString::from(token.trim().to_string());
                let endpoint = self.cloud.token_endpoint(&op.tenant_id);
                let label = TokenRequestLabel {
                    credential: "operator federated token",
                    client_id: &op.client_id,
                    tenant_id: &op.tenant_id,
                };
                client_credentials(
                    &self.http,
                    &self.options,
                    &endpoint,
                    &scope,
                    ClientProof::Assertion(&assertion),
                    &label,
                )
                .await
            }
        }
    }

    /// Client and tenant id of a `serviceAccountRef` store, with ESO's precedence and conflicts:
    /// client id from `authSecretRef.clientId` or the ServiceAccount annotation (not both);
    /// tenant id from `authSecretRef.tenantId`, else `tenantId`, else the annotation (a second
    /// source is a conflict), else the operator's own tenant.
    async fn workload_ids(
        &self,
        account: &ServiceAccountSelector,
        auth: Option<&AzureKvAuth>,
        spec_tenant: Option<&str>,
    ) -> Result<(String, String), ProviderError> {
        let annotations = self
            .credentials
            .service_account_annotations(account)
            .await?;
        let sa = format!("ServiceAccount {:?}", account.name);
        let mut client_id = match auth.and_then(|a| a.client_id.as_ref()) {
            Some(sel) => Some(self.read_text(sel, "authSecretRef.clientId").await?),
            None => None,
        };
        if let Some(annotated) = annotations
            .get(ANNOTATION_CLIENT_ID)
            .filter(|v| !v.trim().is_empty())
        {
            if client_id.is_some() {
                return Err(ProviderError::InvalidStoreConfig(format!(
                    "{FIELD}: the client id is set both in authSecretRef.clientId and in the {ANNOTATION_CLIENT_ID} annotation of {sa}; expected one of them"
                )));
            }
            client_id = Some(annotated.trim().to_string());
        }
        let client_id = client_id.ok_or_else(|| {
            ProviderError::InvalidStoreConfig(format!(
                "{FIELD}: missing client id: expected the {ANNOTATION_CLIENT_ID} annotation on {sa} or authSecretRef.clientId"
            ))
        })?;
        let mut tenant_id = match auth.and_then(|a| a.tenant_id.as_ref()) {
            Some(sel) => Some(self.read_text(sel, "authSecretRef.tenantId").await?),
            None => None,
        };
        if tenant_id.is_none() {
            tenant_id = spec_tenant.map(|t| t.trim().to_string());
        }
        if let Some(annotated) = annotations
            .get(ANNOTATION_TENANT_ID)
            .filter(|v| !v.trim().is_empty())
        {
            if tenant_id.is_some() {
                return Err(ProviderError::InvalidStoreConfig(format!(
                    "{FIELD}: the tenant id is set both in the store (tenantId or authSecretRef.tenantId) and in the {ANNOTATION_TENANT_ID} annotation of {sa}; expected one of them"
                )));
            }
            tenant_id = Some(annotated.trim().to_string());
        }
        let tenant_id = tenant_id
            .or_else(|| self.options.operator_workload_identity.as_ref().map(|o| o.tenant_id.clone()))
            .ok_or_else(|| {
                ProviderError::InvalidStoreConfig(format!(
                    "{FIELD}: missing tenant id: expected tenantId, authSecretRef.tenantId or the {ANNOTATION_TENANT_ID} annotation on {sa}"
                ))
            })?;
        Ok((client_id, tenant_id))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
