//! Exit codes and the classification of failures (pure functions, table-tested).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything succeeded (for `diff --exit-code`: and nothing would change) |
//! | 1 | `diff --exit-code`: something would change; any command: a referenced remote key is missing |
//! | 2 | invalid input: a file, document, store spec or ExternalSecret is wrong |
//! | 3 | a provider or the cluster is unavailable (network, authentication, throttling) |
//!
//! When several apply, invalid input (2) wins over unavailable (3), which wins over 1.

use std::process::ExitCode;

use secretsync_engine::{EngineError, StoreFailure};
use secretsync_model::ProviderError;

/// What kind of failure a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// A remote key is missing (or, for `diff --exit-code`, something would change): exit 1.
    Missing,
    /// A provider or the cluster could not be reached or refused us: exit 3.
    Unavailable,
    /// The input is wrong: exit 2.
    Invalid,
}

impl Class {
    /// The process exit code of this class.
    pub fn code(self) -> u8 {
        match self {
            Class::Missing => 1,
            Class::Invalid => 2,
            Class::Unavailable => 3,
        }
    }
}

/// The class of a provider error.
pub fn classify_provider(error: &ProviderError) -> Class {
    match error {
        ProviderError::NotFound(_) => Class::Missing,
        ProviderError::InvalidStoreConfig(_)
        | ProviderError::Unsupported(_)
        | ProviderError::NotManaged(_) => Class::Invalid,
        ProviderError::PermissionDenied(_)
        | ProviderError::Throttled { .. }
        | ProviderError::Unavailable(_)
        | ProviderError::BadResponse(_) => Class::Unavailable,
    }
}

/// The class of a provider error met while building or validating a store: a missing
/// credential is bad input there, not a missing remote key.
pub fn classify_store(error: &ProviderError) -> Class {
    match classify_provider(error) {
        Class::Missing => Class::Invalid,
        other => other,
    }
}

/// The class of an engine error.
pub fn classify(error: &EngineError) -> Class {
    match error {
        EngineError::Provider { error, .. } => classify_provider(error),
        EngineError::Store { cause, .. } => match cause {
            StoreFailure::NotFound | StoreFailure::Refused => Class::Invalid,
            StoreFailure::Unavailable => Class::Unavailable,
            StoreFailure::Provider(e) => classify_store(e),
        },
        EngineError::InvalidSpec { .. }
        | EngineError::Value { .. }
        | EngineError::Template { .. }
        | EngineError::Environment { .. }
        | EngineError::Unsupported { .. } => Class::Invalid,
    }
}

/// One failure, as reported in the summary: where it comes from and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The class.
    pub class: Class,
    /// The message: file, document, object and field, never a value.
    pub message: String,
}

impl Failure {
    /// A failure of class `class`.
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Failure {
            class,
            message: message.into(),
        }
    }
}

/// The exit code for a run with these failures (0 when there are none).
pub fn exit_code<'a>(failures: impl IntoIterator<Item = &'a Failure>) -> ExitCode {
    let worst = failures.into_iter().map(|f| f.class).max();
    ExitCode::from(worst.map_or(0, Class::code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(cause: StoreFailure) -> EngineError {
        EngineError::Store {
            object: "ns/es".into(),
            location: "spec.data[0]".into(),
            store: "SecretStore s".into(),
            message: "m".into(),
            cause,
        }
    }

    fn provider(error: ProviderError) -> EngineError {
        EngineError::Provider {
            object: "ns/es".into(),
            location: "spec.data[0]".into(),
            store: "SecretStore ns/s".into(),
            request: "key \"k\"".into(),
            error,
        }
    }

    #[test]
    fn engine_errors_map_to_classes() {
        let cases = [
            (
                provider(ProviderError::NotFound("k".into())),
                Class::Missing,
            ),
            (
                provider(ProviderError::Unavailable("down".into())),
                Class::Unavailable,
            ),
            (
                provider(ProviderError::PermissionDenied("403".into())),
                Class::Unavailable,
            ),
            (
                provider(ProviderError::Throttled {
                    message: "429".into(),
                    retry_after: None,
                }),
                Class::Unavailable,
            ),
            (
                provider(ProviderError::InvalidStoreConfig("x".into())),
                Class::Invalid,
            ),
            (store(StoreFailure::NotFound), Class::Invalid),
            (store(StoreFailure::Refused), Class::Invalid),
            (store(StoreFailure::Unavailable), Class::Unavailable),
            (
                store(StoreFailure::Provider(ProviderError::NotFound(
                    "creds".into(),
                ))),
                Class::Invalid,
            ),
            (
                store(StoreFailure::Provider(ProviderError::Unavailable(
                    "x".into(),
                ))),
                Class::Unavailable,
            ),
            (
                EngineError::Template {
                    object: "o".into(),
                    location: "l".into(),
                    message: "m".into(),
                },
                Class::Invalid,
            ),
        ];
        for (error, class) in cases {
            assert_eq!(classify(&error), class, "{error}");
        }
    }

    #[test]
    fn the_worst_class_decides_the_exit_code() {
        let f = |c| Failure::new(c, "x");
        let cases: [(Vec<Failure>, u8); 5] = [
            (vec![], 0),
            (vec![f(Class::Missing)], 1),
            (vec![f(Class::Missing), f(Class::Unavailable)], 3),
            (vec![f(Class::Unavailable), f(Class::Invalid)], 2),
            (vec![f(Class::Invalid), f(Class::Missing)], 2),
        ];
        for (failures, code) in cases {
            assert_eq!(exit_code(&failures), ExitCode::from(code), "{failures:?}");
        }
    }
}
