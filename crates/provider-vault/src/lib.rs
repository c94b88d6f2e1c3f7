//! HashiCorp Vault / OpenBao provider.
//!
//! [`VaultProvider`] implements [`secretsync_model::SecretProvider`] for KV v1/v2 stores
//! (`spec.provider.vault`). It is Kubernetes-free: every credential (Secret keys,
//! ServiceAccount TokenRequest tokens, CA ConfigMaps) comes through the
//! [`CredentialResolver`](secretsync_model::credentials::CredentialResolver) it is given.
//! See the crate README for auth methods, options and the token lifecycle.

mod auth;
mod http;
mod kv;
mod options;
mod paths;
mod provider;
mod session;
mod tls;

pub use options::{DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH, TOKEN_ENVIRONMENT_VARIABLE, VaultOptions};
pub use provider::VaultProvider;
