//! Authentication methods: which one a store configures and how it logs in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use secretsync_model::credentials::CredentialResolver;
use secretsync_model::meta::{SecretKeySelector, ServiceAccountSelector};
use secretsync_model::providers::VaultAuth;
use secretsync_model::{ProviderError, SecretValue};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::http::{Call, Failure, VaultHttp};
use crate::options::VaultOptions;

/// Default `expirationSeconds` of TokenRequest tokens (ESO: 600 s).
pub(crate) const DEFAULT_TOKEN_EXPIRATION: Duration = Duration::from_secs(600);
/// Default audience of JWT-auth TokenRequest tokens (ESO: `vault`).
pub(crate) const DEFAULT_JWT_AUDIENCE: &str = "vault";

/// Where the role id of an AppRole login comes from.
#[derive(Debug, Clone)]
pub(crate) enum RoleId {
    /// Written in the spec.
    Inline(String),
    /// Read from a Secret.
    Secret(SecretKeySelector),
}

/// Where a ServiceAccount JWT comes from.
#[derive(Debug, Clone)]
pub(crate) enum JwtSource {
    /// A Secret key.
    Secret(SecretKeySelector),
    /// A TokenRequest token.
    TokenRequest {
        /// The ServiceAccount.
        account: ServiceAccountSelector,
        /// Audiences requested.
        audiences: Vec<String>,
        /// Lifetime requested.
        expiration: Duration,
    },
    /// The pod's own token file.
    File(PathBuf),
}

/// The configured login method.
#[derive(Debug, Clone)]
pub(crate) enum AuthMethod {
    /// `tokenSecretRef`: a static token.
    Token(SecretKeySelector),
    /// No `auth` block: the CLI's token from the environment.
    Environment(SecretString),
    /// `appRole`.
    AppRole {
        /// Mount path.
        path: String,
        /// Role id source.
        role_id: RoleId,
        /// Secret id.
        secret_ref: SecretKeySelector,
    },
    /// `kubernetes`.
    Kubernetes {
        /// Mount path.
        path: String,
        /// Vault role.
        role: String,
        /// JWT source.
        jwt: JwtSource,
    },
    /// `jwt`.
    Jwt {
        /// Mount path.
        path: String,
        /// Vault role (the method's default role when absent).
        role: Option<String>,
        /// JWT source.
        jwt: JwtSource,
    },
    /// `userPass`.
    UserPass {
        /// Mount path.
        path: String,
        /// Username.
        username: String,
        /// Password.
        secret_ref: SecretKeySelector,
    },
    /// `cert`: the client certificate is presented on the TLS connection.
    Cert {
        /// Mount path.
        path: String,
        /// Certificate role name.
        role: Option<String>,
        /// Client certificate.
        cert_ref: SecretKeySelector,
        /// Private key.
        key_ref: SecretKeySelector,
    },
}

/// A token obtained from a login (or a static token).
pub(crate) struct Login {
    /// The token.
    pub token: SecretString,
    /// The token's accessor (identifies it without granting anything), when Vault sent one.
    pub accessor: Option<String>,
    /// Lease duration; `None` for tokens that do not expire or whose TTL is unknown.
    pub ttl: Option<Duration>,
    /// Whether `renew-self` may extend it.
    pub renewable: bool,
    /// Whether the provider created it (and must revoke it on close).
    pub revocable: bool,
}

fn trim_mount(path: &str, default: &str) -> String {
    let p = path.trim_matches('/');
    if p.is_empty() {
        default.to_string()
    } else {
        p.to_string()
    }
}

impl AuthMethod {
    /// Picks the method a store configures, in ESO's order.
    pub fn from_spec(
        auth: Option<&VaultAuth>,
        options: &VaultOptions,
        field: &str,
    ) -> Result<Self, ProviderError> {
        let Some(auth) = auth else {
            return match &options.environment_token {
                Some(token) => Ok(AuthMethod::Environment(token.clone())),
                None => Err(ProviderError::InvalidStoreConfig(format!(
                    "{field}.auth: expected an auth method (tokenSecretRef, appRole, kubernetes, \
                     jwt, userPass or cert); a token from the environment is only used when the \
                     CLI enables it"
                ))),
            };
        };
        if let Some(sel) = &auth.token_secret_ref {
            return Ok(AuthMethod::Token(sel.clone()));
        }
        if let Some(a) = &auth.app_role {
            let role_id = match (&a.role_id, &a.role_ref) {
                (Some(id), _) if !id.is_empty() => RoleId::Inline(id.clone()),
                (_, Some(sel)) => RoleId::Secret(sel.clone()),
                _ => {
                    return Err(ProviderError::InvalidStoreConfig(format!(
                        "{field}.auth.appRole: expected roleId or roleRef"
                    )));
                }
            };
            return Ok(AuthMethod::AppRole {
                path: trim_mount(&a.path, "approle"),
                role_id,
                secret_ref: a.secret_ref.clone(),
            });
        }
        if let Some(k) = &auth.kubernetes {
            let jwt = match (&k.service_account_ref, &k.secret_ref) {
                (Some(sa), _) => JwtSource::TokenRequest {
                    account: sa.clone(),
                    audiences: sa.audiences.clone(),
                    expiration: DEFAULT_TOKEN_EXPIRATION,
                },
                (None, Some(sel)) => JwtSource::Secret(with_default_key(sel, "token")),
                (None, None) => JwtSource::File(options.service_account_token_path.clone()),
            };
            return Ok(AuthMethod::Kubernetes {
                path: trim_mount(&k.mount_path, "kubernetes"),
                role: k.role.clone(),
                jwt,
            });
        }
        if auth.ldap.is_some() {
            return Err(unsupported(field, "ldap"));
        }
        if let Some(u) = &auth.user_pass {
            return Ok(AuthMethod::UserPass {
                path: trim_mount(&u.path, "userpass"),
                username: u.username.clone(),
                secret_ref: u.secret_ref.clone(),
            });
        }
        if let Some(j) = &auth.jwt {
            let jwt = match (&j.secret_ref, &j.kubernetes_service_account_token) {
                (Some(sel), _) => JwtSource::Secret(with_default_key(sel, "token")),
                (None, Some(k)) => {
                    let mut audiences = k.service_account_ref.audiences.clone();
                    audiences.extend(
                        k.audiences
                            .clone()
                            .unwrap_or_else(|| vec![DEFAULT_JWT_AUDIENCE.to_string()]),
                    );
                    let expiration = match k.expiration_seconds {
                        None => DEFAULT_TOKEN_EXPIRATION,
                        Some(s) if s > 0 => Duration::from_secs(s.unsigned_abs()),
                        Some(s) => {
                            return Err(ProviderError::InvalidStoreConfig(format!(
                                "{field}.auth.jwt.kubernetesServiceAccountToken.expirationSeconds: \
                                 expected a positive number of seconds, got {s}"
                            )));
                        }
                    };
                    JwtSource::TokenRequest {
                        account: k.service_account_ref.clone(),
                        audiences,
                        expiration,
                    }
                }
                (None, None) => {
                    return Err(ProviderError::InvalidStoreConfig(format!(
                        "{field}.auth.jwt: expected secretRef or kubernetesServiceAccountToken"
                    )));
                }
            };
            return Ok(AuthMethod::Jwt {
                path: trim_mount(&j.path, "jwt"),
                role: j
                    .role
                    .clone()
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty()),
                jwt,
            });
        }
        if let Some(c) = &auth.cert {
            return Ok(AuthMethod::Cert {
                path: trim_mount(&c.path, "cert"),
                role: c.vault_role.clone().filter(|r| !r.is_empty()),
                cert_ref: with_default_key(&c.client_cert, "tls.crt"),
                key_ref: with_default_key(&c.secret_ref, "tls.key"),
            });
        }
        if auth.iam.is_some() {
            return Err(unsupported(field, "iam"));
        }
        if auth.gcp.is_some() {
            return Err(unsupported(field, "gcp"));
        }
        Err(ProviderError::InvalidStoreConfig(format!(
            "{field}.auth: expected one of tokenSecretRef, appRole, kubernetes, jwt, userPass, cert"
        )))
    }

    /// Short description for messages (never a credential).
    pub fn describe(&self) -> String {
        match self {
            AuthMethod::Token(sel) => format!("token from Secret {:?}", sel.name),
            AuthMethod::Environment(_) => "token from the environment".into(),
            AuthMethod::AppRole { path, .. } => format!("approle login at auth/{path}"),
            AuthMethod::Kubernetes { path, role, .. } => {
                format!("kubernetes login at auth/{path} as role {role:?}")
            }
            AuthMethod::Jwt { path, role, .. } => match role {
                Some(role) => format!("jwt login at auth/{path} as role {role:?}"),
                None => format!("jwt login at auth/{path}"),
            },
            AuthMethod::UserPass { path, username, .. } => {
                format!("userpass login at auth/{path} as {username:?}")
            }
            AuthMethod::Cert { path, .. } => format!("cert login at auth/{path}"),
        }
    }

    /// Whether a token is obtained by calling a login endpoint.
    pub fn logs_in(&self) -> bool {
        !matches!(self, AuthMethod::Token(_) | AuthMethod::Environment(_))
    }

    /// Obtains a token. `namespace` is the login namespace.
    pub async fn login(
        &self,
        http: &VaultHttp,
        namespace: Option<&str>,
        credentials: &dyn CredentialResolver,
        what: &str,
    ) -> Result<Login, ProviderError> {
        let static_token = |token: SecretString| Login {
            token,
            accessor: None,
            ttl: None,
            renewable: false,
            revocable: false,
        };
        let mut body: BTreeMap<&str, String> = BTreeMap::new();
        let path = match self {
            AuthMethod::Environment(token) => return Ok(static_token(token.clone())),
            AuthMethod::Token(sel) => {
                let value = credentials.secret_value(sel, Some("token")).await?;
                let token = utf8(&value, sel, what)?.trim().to_string();
                return Ok(static_token(SecretString::from(token)));
            }
            AuthMethod::AppRole {
                path,
                role_id,
                secret_ref,
            } => {
                let role_id = match role_id {
                    RoleId::Inline(id) => id.clone(),
                    RoleId::Secret(sel) => {
                        let v = credentials.secret_value(sel, None).await?;
                        utf8(&v, sel, what)?.trim().to_string()
                    }
                };
                let secret_id = credentials.secret_value(secret_ref, None).await?;
                body.insert("role_id", role_id);
                body.insert(
                    "secret_id",
                    utf8(&secret_id, secret_ref, what)?.trim().to_string(),
                );
                path
            }
            AuthMethod::Kubernetes { path, role, jwt } => {
                body.insert("role", role.clone());
                body.insert("jwt", read_jwt(jwt, credentials, what).await?);
                path
            }
            AuthMethod::Jwt { path, role, jwt } => {
                if let Some(role) = role {
                    body.insert("role", role.clone());
                }
                body.insert("jwt", read_jwt(jwt, credentials, what).await?);
                path
            }
            AuthMethod::UserPass {
                path,
                username,
                secret_ref,
            } => {
                let password = credentials.secret_value(secret_ref, None).await?;
                body.insert("password", utf8(&password, secret_ref, what)?.to_string());
                let login_path = format!("auth/{path}/login/{username}");
                let result = post_login(http, &login_path, namespace, &body, what, self).await;
                zeroize_body(&mut body);
                return result;
            }
            AuthMethod::Cert { path, role, .. } => {
                if let Some(role) = role {
                    body.insert("name", role.clone());
                }
                path
            }
        };
        let login_path = format!("auth/{path}/login");
        let result = post_login(http, &login_path, namespace, &body, what, self).await;
        zeroize_body(&mut body);
        result
    }
}

fn zeroize_body(body: &mut BTreeMap<&str, String>) {
    for value in body.values_mut() {
        zeroize::Zeroize::zeroize(value);
    }
}

async fn post_login(
    http: &VaultHttp,
    path: &str,
    namespace: Option<&str>,
    body: &BTreeMap<&str, String>,
    what: &str,
    method: &AuthMethod,
) -> Result<Login, ProviderError> {
    let bytes = Zeroizing::new(
        serde_json::to_vec(body)
            .map_err(|e| ProviderError::BadResponse(format!("{what}: encoding login: {e}")))?,
    );
    let mut call = Call::new(Method::POST, path);
    call.namespace = namespace;
    call.body = Some(bytes);
    let context = format!("{what}: {}", method.describe());
    let response = http.send(call).await.map_err(|f| match f {
        Failure::Status { status, errors, .. } if matches!(status.as_u16(), 400 | 401 | 403) => {
            ProviderError::PermissionDenied(format!(
                "{context} failed: HTTP {}: {errors}",
                status.as_u16()
            ))
        }
        // Never "not found": that would read as a missing remote secret.
        Failure::Status { status, errors, .. } if status.as_u16() == 404 => {
            ProviderError::InvalidStoreConfig(format!(
                "{context} failed: HTTP 404: {errors} (no auth method is mounted at {path}; \
                 check the store's mount path and auth namespace)"
            ))
        }
        other => other.into_provider_error(&context),
    })?;
    parse_login(&response.body, &context)
}

/// Parses the `auth` block of a login response.
pub(crate) fn parse_login(body: &[u8], context: &str) -> Result<Login, ProviderError> {
    #[derive(Deserialize)]
    struct Envelope {
        auth: Option<Auth>,
    }
    #[derive(Deserialize)]
    struct Auth {
        client_token: String,
        #[serde(default)]
        accessor: Option<String>,
        #[serde(default)]
        lease_duration: u64,
        #[serde(default)]
        renewable: bool,
    }
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| {
        ProviderError::BadResponse(format!("{context}: login response is not Vault JSON"))
    })?;
    let auth = envelope.auth.ok_or_else(|| {
        ProviderError::BadResponse(format!("{context}: login response has no auth block"))
    })?;
    if auth.client_token.is_empty() {
        return Err(ProviderError::BadResponse(format!(
            "{context}: login response has an empty token"
        )));
    }
    Ok(Login {
        token: SecretString::from(auth.client_token),
        accessor: auth.accessor.filter(|a| !a.is_empty()),
        ttl: (auth.lease_duration > 0).then(|| Duration::from_secs(auth.lease_duration)),
        renewable: auth.renewable,
        revocable: true,
    })
}

async fn read_jwt(
    source: &JwtSource,
    credentials: &dyn CredentialResolver,
    what: &str,
) -> Result<String, ProviderError> {
    match source {
        JwtSource::Secret(sel) => {
            let v = credentials.secret_value(sel, Some("token")).await?;
            Ok(utf8(&v, sel, what)?.trim().to_string())
        }
        JwtSource::TokenRequest {
            account,
            audiences,
            expiration,
        } => {
            let v = credentials
                .service_account_token(account, audiences, Some(*expiration))
                .await?;
            let token = v.expose_str().ok_or_else(|| {
                ProviderError::BadResponse(format!(
                    "{what}: TokenRequest token of ServiceAccount {:?} is not UTF-8",
                    account.name
                ))
            })?;
            Ok(token.trim().to_string())
        }
        JwtSource::File(path) => {
            let bytes = Zeroizing::new(tokio::fs::read(path).await.map_err(|e| {
                ProviderError::InvalidStoreConfig(format!(
                    "{what}: kubernetes auth without serviceAccountRef or secretRef reads the pod's \
                     token from {}: {e}",
                    path.display()
                ))
            })?);
            let token = std::str::from_utf8(&bytes).map_err(|_| {
                ProviderError::BadResponse(format!("{what}: {} is not UTF-8", path.display()))
            })?;
            Ok(token.trim().to_string())
        }
    }
}

fn utf8<'v>(
    value: &'v SecretValue,
    selector: &SecretKeySelector,
    what: &str,
) -> Result<&'v str, ProviderError> {
    value.expose_str().ok_or_else(|| {
        ProviderError::InvalidStoreConfig(format!(
            "{what}: credential Secret {:?} key {:?}: expected UTF-8 text",
            selector.name,
            selector.key.as_deref().unwrap_or_default()
        ))
    })
}

/// A copy of `sel` whose key defaults to `key`.
pub(crate) fn with_default_key(sel: &SecretKeySelector, key: &str) -> SecretKeySelector {
    let mut out = sel.clone();
    if out.key.as_deref().is_none_or(str::is_empty) {
        out.key = Some(key.to_string());
    }
    out
}

fn unsupported(field: &str, method: &str) -> ProviderError {
    ProviderError::Unsupported(format!(
        "{field}.auth.{method}: the {method} auth method is not supported by secretsync \
         (supported: tokenSecretRef, appRole, kubernetes, jwt, userPass, cert)"
    ))
}
