//! HashiCorp Vault / OpenBao provider.
//!
//! [`VaultProvider`] implements [`secretsync_model::SecretProvider`] for KV v1/v2 stores
//! (`spec.provider.vault`). It is Kubernetes-free: every credential (Secret keys,
//! ServiceAccount TokenRequest tokens, CA ConfigMaps) comes through the
//! [`CredentialResolver`](secretsync_model::credentials::CredentialResolver) it is given.
//!
//! The HTTP client is a small purpose-built one on the workspace `reqwest` (rustls) rather than
//! `vaultrs`, which keeps tokens in plain `String`s, needs `&mut` to swap them, logs errors at
//! ERROR and reads `VAULT_*` variables implicitly.
//!
//! The README (included below) describes auth methods, options and the token lifecycle.
#![doc = include_str!("../README.md")]

mod auth;
mod dynamic;
mod http;
mod kv;
mod options;
mod paths;
mod provider;
mod session;
mod tls;
mod write;

pub use dynamic::VaultDynamicSecretGenerator;
pub use options::{DEFAULT_SERVICE_ACCOUNT_TOKEN_PATH, TOKEN_ENVIRONMENT_VARIABLE, VaultOptions};
pub use provider::VaultProvider;
