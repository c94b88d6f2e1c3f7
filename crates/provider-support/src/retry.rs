//! ESO's `retrySettings` (`maxRetries`, `retryInterval`) mapped onto the engine's
//! [`RetryPolicy`]. Each provider gives its own defaults (those of the client ESO uses for it),
//! so the mapping lives with the provider while the parsing is done once, here.

use secretsync_model::duration::parse_go_duration;
use secretsync_model::secret_store::RetrySettings;
use secretsync_model::{Backoff, ProviderError, RetryPolicy};

/// How a provider reads `retrySettings`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryDefaults {
    /// The policy of a store without `retrySettings`.
    pub without_settings: RetryPolicy,
    /// `maxRetries` when `retrySettings` is present but `maxRetries` is not.
    pub max_retries_when_unset: u32,
    /// ESO's AWS provider passes `maxRetries` as the SDK's total attempts (first call
    /// included); the others count retries.
    pub max_retries_counts_attempts: bool,
}

/// The policy for a store's `retrySettings`; errors name the field.
pub fn retry_policy(
    settings: Option<&RetrySettings>,
    defaults: &RetryDefaults,
) -> Result<RetryPolicy, ProviderError> {
    let Some(settings) = settings else {
        return Ok(defaults.without_settings);
    };
    let max_retries = match settings.max_retries {
        None => defaults.max_retries_when_unset,
        Some(n) => u32::try_from(n).map_err(|_| {
            ProviderError::InvalidStoreConfig(format!(
                "spec.retrySettings.maxRetries: expected 0 or more, got {n}"
            ))
        })?,
    };
    let max_retries = if defaults.max_retries_counts_attempts {
        max_retries.saturating_sub(1)
    } else {
        max_retries
    };
    let backoff = match settings.retry_interval.as_deref().map(str::trim) {
        None | Some("") => defaults.without_settings.backoff,
        Some(text) => Backoff::Fixed(parse_go_duration(text).map_err(|e| {
            ProviderError::InvalidStoreConfig(format!(
                "spec.retrySettings.retryInterval: expected a Go duration such as 10s: {e}"
            ))
        })?),
    };
    Ok(RetryPolicy {
        max_retries,
        backoff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const DEFAULTS: RetryDefaults = RetryDefaults {
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

    fn settings(max: Option<i32>, interval: Option<&str>) -> RetrySettings {
        RetrySettings {
            max_retries: max,
            retry_interval: interval.map(str::to_string),
        }
    }

    #[test]
    fn settings_map_to_policies() {
        assert_eq!(
            retry_policy(None, &DEFAULTS).expect("none"),
            DEFAULTS.without_settings
        );
        let p = retry_policy(Some(&settings(Some(5), Some("10s"))), &DEFAULTS).expect("set");
        assert_eq!(p.max_retries, 5);
        assert_eq!(p.backoff, Backoff::Fixed(Duration::from_secs(10)));
        let p = retry_policy(Some(&settings(None, None)), &DEFAULTS).expect("empty");
        assert_eq!(
            p.max_retries, 0,
            "present without maxRetries: the provider's value"
        );
        assert_eq!(p.backoff, DEFAULTS.without_settings.backoff);
        let attempts = RetryDefaults {
            max_retries_counts_attempts: true,
            ..DEFAULTS
        };
        let p = retry_policy(Some(&settings(Some(3), None)), &attempts).expect("attempts");
        assert_eq!(p.max_retries, 2, "3 attempts are 2 retries");
    }

    #[test]
    fn bad_settings_name_the_field() {
        let e = retry_policy(Some(&settings(Some(-1), None)), &DEFAULTS).expect_err("negative");
        assert!(
            e.to_string().contains("spec.retrySettings.maxRetries"),
            "{e}"
        );
        let e = retry_policy(Some(&settings(None, Some("soon"))), &DEFAULTS).expect_err("bad");
        assert!(
            e.to_string().contains("spec.retrySettings.retryInterval"),
            "{e}"
        );
    }
}
