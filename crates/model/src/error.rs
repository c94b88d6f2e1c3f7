//! Errors: model validation errors and the provider error taxonomy the engine acts on.

use std::time::Duration;

/// A problem with a resource as written: names the field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A field holds an invalid value.
    #[error("{field}: expected {expected}")]
    InvalidField {
        /// Dotted path of the field, e.g. `spec.data[0].secretKey`.
        field: String,
        /// What was expected instead.
        expected: String,
    },
    /// The store names an ESO provider secretsync does not implement.
    #[error(
        "spec.provider: provider {provider:?} is not supported by secretsync (supported: vault, openBao, aws, azurekv, fake)"
    )]
    UnsupportedProvider {
        /// The provider's field name.
        provider: String,
    },
}

impl ModelError {
    /// Shorthand for [`ModelError::InvalidField`].
    pub fn field(field: impl Into<String>, expected: impl Into<String>) -> Self {
        ModelError::InvalidField {
            field: field.into(),
            expected: expected.into(),
        }
    }
}

/// Errors a provider reports. Messages name the store, key and path but never a value or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The remote secret (or version, or property) does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The credentials are not allowed to read it, or are wrong.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The provider asked us to slow down.
    #[error("throttled: {message}")]
    Throttled {
        /// What was throttled.
        message: String,
        /// How long the provider asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// The provider could not be reached or is not serving (sealed, standby, 5xx, timeout).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The store's configuration is invalid.
    #[error("invalid store configuration: {0}")]
    InvalidStoreConfig(String),
    /// The request uses a feature this provider does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The provider answered with something we could not use.
    #[error("bad response: {0}")]
    BadResponse(String),
    /// A write would touch a remote secret that secretsync (or ESO) does not manage.
    #[error("not managed: {0}")]
    NotManaged(String),
}

impl ProviderError {
    /// Whether retrying later may succeed (throttling and outages).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::Throttled { .. } | ProviderError::Unavailable(_)
        )
    }

    /// The provider's requested delay, for throttling.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short, stable label for metrics and status (`NotFound`, `PermissionDenied`, ...).
    pub fn kind_label(&self) -> &'static str {
        match self {
            ProviderError::NotFound(_) => "NotFound",
            ProviderError::PermissionDenied(_) => "PermissionDenied",
            ProviderError::Throttled { .. } => "Throttled",
            ProviderError::Unavailable(_) => "Unavailable",
            ProviderError::InvalidStoreConfig(_) => "InvalidStoreConfig",
            ProviderError::Unsupported(_) => "Unsupported",
            ProviderError::BadResponse(_) => "BadResponse",
            ProviderError::NotManaged(_) => "NotManaged",
        }
    }
}
