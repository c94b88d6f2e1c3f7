//! ESO-compatible CRD types, the provider trait, secret value types and errors. No I/O.
//!
//! - [`external_secret`], [`secret_store`], [`cluster_external_secret`]: the `external-secrets.io`
//!   resources, served as `v1` (storage) and `v1beta1` with identical schemas.
//! - [`generator`]: the `generators.external-secrets.io` resources and the
//!   [`Generator`](generator::Generator) trait generators implement.
//! - [`providers`]: the typed provider blocks secretsync implements (`vault`, `aws`, `azurekv`, `fake`).
//! - [`provider`]: the [`SecretProvider`](provider::SecretProvider) trait backends implement.
//! - [`credentials`]: how providers resolve credential references without Kubernetes.
//! - [`value`]: zeroizing, redacted secret values.
//! - [`manifest`], [`validate`], [`crd`], [`duration`]: reading, checking and publishing resources;
//!   [`admission`]: ESO's webhook rules as CEL validations in the CRDs.
//! - [`push_secret`]: `PushSecret` and `ClusterPushSecret` (`external-secrets.io/v1alpha1`);
//!   [`writer`]: the [`SecretWriter`](writer::SecretWriter) trait their write paths implement.

// kube-derive's repeated `printcolumn(...)` attributes trip this lint.
#![allow(clippy::duplicated_attributes)]

pub mod admission;
pub mod cluster_external_secret;
pub mod crd;
pub mod credentials;
pub mod duration;
pub mod error;
pub mod external_secret;
pub mod generator;
pub mod manifest;
pub mod meta;
pub mod provider;
pub mod providers;
pub mod push_secret;
pub mod secret_store;
pub mod validate;
pub mod value;
pub mod writer;

pub use error::{ModelError, ProviderError};
pub use provider::{
    Backoff, FetchRequest, FindRequest, ProviderCapabilities, ProviderFactory, RetryPolicy,
    SecretProvider, SharedProvider, StoreContext, StoreId, Validation,
};
pub use value::{RemoteSecret, SecretData, SecretValue};
pub use writer::{DeleteOutcome, PushOutcome, PushRequest, RemoteState, SecretWriter};
