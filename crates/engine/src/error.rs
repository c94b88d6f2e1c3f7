//! Engine errors. Every message names the ExternalSecret, the entry (`spec.data[2]`), the store
//! and the remote key where they apply, and never a secret value.

use std::time::Duration;

use secretsync_model::{ModelError, ProviderError};

/// Why a sync (or one entry of it) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The ExternalSecret breaks one of ESO's admission rules.
    #[error("ExternalSecret {object}: invalid spec: {}", join_problems(.problems))]
    InvalidSpec {
        /// `namespace/name` of the ExternalSecret.
        object: String,
        /// Every problem found.
        problems: Vec<ModelError>,
    },
    /// The store could not be resolved or its provider could not be built.
    #[error("ExternalSecret {object}: {location}: store {store}: {message}")]
    Store {
        /// `namespace/name` of the ExternalSecret.
        object: String,
        /// The entry that needed the store (`spec.data[0]`, `spec.dataFrom[1]`).
        location: String,
        /// The store reference as written (`SecretStore vault`).
        store: String,
        /// What went wrong.
        message: String,
        /// Why, as data (hosts choose exit codes and retries from it).
        cause: StoreFailure,
    },
    /// The provider failed to read a remote value.
    #[error("ExternalSecret {object}: {location}: {request} from {store}: {error}")]
    Provider {
        /// `namespace/name` of the ExternalSecret.
        object: String,
        /// The entry (`spec.data[2]`).
        location: String,
        /// The store (`SecretStore ns/vault`).
        store: String,
        /// The read (`key "db/creds" version "3"`).
        request: String,
        /// The provider's error.
        error: ProviderError,
    },
    /// The fetched value could not be turned into Secret data (property, decoding, keys, rewrite).
    #[error("ExternalSecret {object}: {location}: {message}")]
    Value {
        /// `namespace/name` of the ExternalSecret.
        object: String,
        /// The entry (`spec.dataFrom[0].rewrite[1]`).
        location: String,
        /// What went wrong (names keys, never values).
        message: String,
    },
    /// A template failed to parse or render.
    #[error("ExternalSecret {object}: {location}: template error: {message}")]
    Template {
        /// `namespace/name` of the ExternalSecret.
        object: String,
        /// The template (`spec.target.template.data["config.yaml"]`).
        location: String,
        /// The template engine's message (positions and expressions, never values).
        message: String,
    },
    /// The host could not provide an input (a templateFrom ConfigMap or Secret).
    #[error("ExternalSecret {object}: {location}: {message}")]
    Environment {
        /// `namespace/name` of the ExternalSecret.
        object: String,
        /// The field that needed the input.
        location: String,
        /// What went wrong.
        message: String,
    },
    /// The ExternalSecret uses a feature secretsync does not implement.
    #[error("ExternalSecret {object}: {location}: not supported: {message}")]
    Unsupported {
        /// `namespace/name` of the ExternalSecret.
        object: String,
        /// The field.
        location: String,
        /// What is not supported.
        message: String,
    },
}

/// Why a store could not be used ([`EngineError::Store`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreFailure {
    /// The host does not know the store.
    NotFound,
    /// The host refused it (ClusterSecretStore conditions, controller class, flood gate).
    Refused,
    /// The host could not be asked (e.g. the cluster did not answer).
    Unavailable,
    /// Building the provider failed.
    Provider(ProviderError),
}

impl StoreFailure {
    /// The cause of an environment error.
    pub fn of(error: &EnvironmentError) -> Self {
        if error.not_found {
            StoreFailure::NotFound
        } else if error.unavailable {
            StoreFailure::Unavailable
        } else {
            StoreFailure::Refused
        }
    }
}

fn join_problems(problems: &[ModelError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl EngineError {
    /// Whether retrying later may succeed (provider throttling and outages).
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Provider { error, .. } => error.is_transient(),
            EngineError::Store { .. } | EngineError::Environment { .. } => true,
            _ => false,
        }
    }

    /// The delay a provider asked for, when it throttled us.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            EngineError::Provider { error, .. } => error.retry_after(),
            _ => None,
        }
    }

    /// A short, stable label for metrics and status reasons.
    pub fn kind_label(&self) -> &'static str {
        match self {
            EngineError::InvalidSpec { .. } => "InvalidSpec",
            EngineError::Store { .. } => "StoreError",
            EngineError::Provider { error, .. } => error.kind_label(),
            EngineError::Value { .. } => "InvalidValue",
            EngineError::Template { .. } => "TemplateError",
            EngineError::Environment { .. } => "InputError",
            EngineError::Unsupported { .. } => "Unsupported",
        }
    }

    /// True when a remote secret does not exist (ESO's `NoSecretErr`).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            EngineError::Provider {
                error: ProviderError::NotFound(_),
                ..
            }
        )
    }
}

/// An error reported by a [`SyncEnvironment`](crate::SyncEnvironment): the engine adds the
/// ExternalSecret and field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EnvironmentError {
    /// What went wrong (object kind and name, never values).
    pub message: String,
    /// Whether the object does not exist (as opposed to a transient failure).
    pub not_found: bool,
    /// Whether the host could not be asked at all (e.g. its API did not answer): retrying may
    /// help, the input is not at fault.
    pub unavailable: bool,
}

impl EnvironmentError {
    /// An object that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        EnvironmentError {
            message: message.into(),
            not_found: true,
            unavailable: false,
        }
    }

    /// The host could not answer (its API is unreachable or failing).
    pub fn unavailable(message: impl Into<String>) -> Self {
        EnvironmentError {
            message: message.into(),
            not_found: false,
            unavailable: true,
        }
    }

    /// Any other failure (the object exists but may not be used, or is invalid).
    pub fn other(message: impl Into<String>) -> Self {
        EnvironmentError {
            message: message.into(),
            not_found: false,
            unavailable: false,
        }
    }
}
