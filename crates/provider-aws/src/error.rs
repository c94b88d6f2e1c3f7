//! Maps AWS SDK errors (and per-id batch errors) onto [`ProviderError`].
//!
//! Messages name the service, the operation, the key and the region, never a value: service
//! errors are rendered as `code: message` from the error metadata, transport errors through
//! [`DisplayErrorContext`] so the cause chain (DNS, connect, timeout) is visible instead of the
//! SDK's terse "dispatch failure".

use std::error::Error as StdError;
use std::time::Duration;

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use secretsync_model::{ProviderError, RemoteSecret};
use secretsync_provider_support::SharedClock;
use secretsync_provider_support::retry_after::parse_retry_after;

/// What one fetch produces.
pub(crate) type FetchResult = Result<RemoteSecret, ProviderError>;

/// The error a caller sees when the request it waited for was abandoned (runtime shutdown).
pub(crate) fn dropped() -> ProviderError {
    ProviderError::Unavailable("the request was abandoned before it completed".into())
}

/// Where a call went: used to build messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallSite<'a> {
    /// Human name of the service (`Secrets Manager`, `Parameter Store`, `STS`).
    pub service: &'static str,
    /// API operation, e.g. `GetSecretValue`.
    pub operation: &'static str,
    /// What the call was about (a key, a role ARN), already quoted if needed.
    pub subject: &'a str,
    /// Region of the store.
    pub region: &'a str,
    /// Whether an endpoint override is configured (changes the hint on transport errors).
    pub endpoint_override: Option<&'a str>,
    /// For `Retry-After` dates.
    pub clock: &'a SharedClock,
}

/// How an AWS error code is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// The resource does not exist.
    NotFound,
    /// Credentials are wrong, expired or not allowed.
    Denied,
    /// Rate limited.
    Throttled,
    /// Server side or transport problem.
    Unavailable,
    /// Anything else (bad input, unexpected codes).
    Other,
}

const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "ParameterNotFound",
    "ParameterVersionNotFound",
];

const DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "UnrecognizedClient",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidIdentityToken",
    "IDPRejectedClaim",
    "IDPCommunicationError",
    "RegionDisabledException",
    "DecryptionFailure",
    "KMSAccessDeniedException",
    "KMSInvalidStateException",
];

const THROTTLED_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "PriorRequestNotComplete",
];

const UNAVAILABLE_CODES: &[&str] = &[
    "InternalServiceError",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Classifies an AWS error code and HTTP status.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    if let Some(code) = code {
        if NOT_FOUND_CODES.contains(&code) {
            return ErrorClass::NotFound;
        }
        if DENIED_CODES.contains(&code) {
            return ErrorClass::Denied;
        }
        if THROTTLED_CODES.contains(&code) {
            return ErrorClass::Throttled;
        }
        if UNAVAILABLE_CODES.contains(&code) {
            return ErrorClass::Unavailable;
        }
    }
    match status {
        Some(429) => ErrorClass::Throttled,
        Some(s) if s >= 500 => ErrorClass::Unavailable,
        Some(401) | Some(403) if code.is_none() => ErrorClass::Denied,
        _ => ErrorClass::Other,
    }
}

/// True for Secrets Manager's "secret scheduled for deletion" refusal, which ESO treats as
/// a missing secret.
pub(crate) fn is_marked_for_deletion(code: Option<&str>, message: Option<&str>) -> bool {
    matches!(
        code,
        Some("InvalidRequestException") | Some("InvalidParameterException")
    ) && message.is_some_and(|m| m.contains("marked for deletion"))
}

/// Builds the error for an AWS error code + message (a service error or a batch `errors()`
/// entry).
pub(crate) fn from_code(
    site: &CallSite<'_>,
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> ProviderError {
    let detail = match (code, message) {
        (Some(c), Some(m)) if !m.is_empty() => format!("{c}: {m}"),
        (Some(c), _) => c.to_string(),
        (None, Some(m)) if !m.is_empty() => match status {
            Some(s) => format!("HTTP {s}: {m}"),
            None => m.to_string(),
        },
        (None, _) => match status {
            Some(403) => "HTTP 403 (access denied) without an error code".to_string(),
            Some(s) => format!("HTTP {s} without an error code"),
            None => "error without a code".to_string(),
        },
    };
    let CallSite {
        service,
        operation,
        subject,
        region,
        ..
    } = *site;
    if is_marked_for_deletion(code, message) {
        return ProviderError::NotFound(format!(
            "{subject} in {service} (region {region}) is scheduled for deletion ({detail})"
        ));
    }
    match classify(code, status) {
        ErrorClass::NotFound => ProviderError::NotFound(format!(
            "{subject} does not exist in {service} region {region} \
             (check the key and that spec.provider.aws.region is the secret's region; {detail})"
        )),
        ErrorClass::Denied => ProviderError::PermissionDenied(format!(
            "{service} {operation} for {subject} in region {region} was refused ({detail})"
        )),
        ErrorClass::Throttled => ProviderError::Throttled {
            message: format!(
                "{service} {operation} for {subject} in region {region} was throttled ({detail})"
            ),
            retry_after,
        },
        ErrorClass::Unavailable => ProviderError::Unavailable(format!(
            "{service} {operation} for {subject} in region {region} failed on the server side ({detail})"
        )),
        ErrorClass::Other => ProviderError::BadResponse(format!(
            "{service} {operation} for {subject} in region {region} failed ({detail})"
        )),
    }
}

/// Finds a [`ProviderError`] raised by our own credentials provider inside an SDK error chain.
fn provider_error_in_chain(err: &(dyn StdError + 'static)) -> Option<ProviderError> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(p) = e.downcast_ref::<ProviderError>() {
            return Some(p.clone());
        }
        current = e.source();
    }
    None
}

/// Reads `<Code>`/`<Message>` from an XML error body. Some endpoints (proxies, emulators,
/// query-protocol gateways) answer JSON-protocol calls with the XML error shape, which the
/// SDK cannot read; only these two elements are taken, capped in length.
fn xml_error_field(body: &[u8], tag: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    let value: String = text[start..end].trim().chars().take(300).collect();
    (!value.is_empty()).then_some(value)
}

/// The error code (and message) of a failed call, from the SDK or the XML body.
pub(crate) fn error_code_of<E>(err: &SdkError<E, HttpResponse>) -> (Option<String>, Option<String>)
where
    E: ProvideErrorMetadata,
{
    let body = err.raw_response().and_then(|r| r.body().bytes());
    let code = err
        .code()
        .map(str::to_string)
        .or_else(|| body.and_then(|b| xml_error_field(b, "Code")));
    let message = err
        .message()
        .map(str::to_string)
        .or_else(|| body.and_then(|b| xml_error_field(b, "Message")));
    (code, message)
}

fn retry_after_header(response: &HttpResponse, clock: &SharedClock) -> Option<Duration> {
    parse_retry_after(response.headers().get("retry-after")?, clock.now())
}

/// Maps an SDK error of any AWS operation.
pub(crate) fn from_sdk<E>(site: &CallSite<'_>, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    if let Some(p) = provider_error_in_chain(&err) {
        return p;
    }
    let CallSite {
        service,
        operation,
        subject,
        region,
        endpoint_override,
        ..
    } = *site;
    match &err {
        SdkError::ServiceError(service_err) => {
            let status = service_err.raw().status().as_u16();
            let (code, message) = error_code_of(&err);
            from_code(
                site,
                code.as_deref(),
                message.as_deref(),
                Some(status),
                retry_after_header(service_err.raw(), site.clock),
            )
        }
        SdkError::TimeoutError(_) => ProviderError::Unavailable(format!(
            "{service} {operation} for {subject} in region {region} timed out ({})",
            DisplayErrorContext(&err)
        )),
        SdkError::DispatchFailure(failure) => {
            let where_ = match endpoint_override {
                Some(url) => format!("endpoint {url}"),
                None => format!(
                    "the {service} endpoint of region {region:?} \
                     (is spec.provider.aws.region a valid AWS region reachable from here?)"
                ),
            };
            let kind = if failure.is_timeout() {
                "timed out reaching"
            } else {
                "could not reach"
            };
            ProviderError::Unavailable(format!(
                "{service} {operation} for {subject}: {kind} {where_}: {}",
                DisplayErrorContext(&err)
            ))
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            if status == 429 || status >= 500 {
                return from_code(
                    site,
                    None,
                    None,
                    Some(status),
                    retry_after_header(response.raw(), site.clock),
                );
            }
            ProviderError::BadResponse(format!(
                "{service} {operation} for {subject} in region {region}: unreadable response \
                 (HTTP {status}): {}",
                DisplayErrorContext(&err)
            ))
        }
        SdkError::ConstructionFailure(_) => ProviderError::InvalidStoreConfig(format!(
            "{service} {operation} for {subject} could not be built for region {region:?} \
             (check spec.provider.aws.region): {}",
            DisplayErrorContext(&err)
        )),
        _ => ProviderError::Unavailable(format!(
            "{service} {operation} for {subject} in region {region} failed: {}",
            DisplayErrorContext(&err)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> CallSite<'static> {
        static CLOCK: std::sync::OnceLock<SharedClock> = std::sync::OnceLock::new();
        CallSite {
            service: "Secrets Manager",
            operation: "GetSecretValue",
            subject: "secret \"db\"",
            region: "eu-west-1",
            endpoint_override: None,
            clock: CLOCK.get_or_init(SharedClock::default),
        }
    }

    #[test]
    fn codes_map_to_distinct_kinds() {
        let cases = [
            ("ResourceNotFoundException", "NotFound"),
            ("ParameterNotFound", "NotFound"),
            ("AccessDeniedException", "PermissionDenied"),
            ("UnrecognizedClientException", "PermissionDenied"),
            ("InvalidSignatureException", "PermissionDenied"),
            ("ExpiredTokenException", "PermissionDenied"),
            ("ThrottlingException", "Throttled"),
            ("TooManyRequestsException", "Throttled"),
            ("InternalServiceError", "Unavailable"),
            ("InvalidParameterException", "BadResponse"),
        ];
        for (code, kind) in cases {
            let err = from_code(&site(), Some(code), Some("m"), Some(400), None);
            assert_eq!(err.kind_label(), kind, "{code}");
        }
    }

    #[test]
    fn status_only_errors_are_classified() {
        assert_eq!(
            from_code(&site(), None, None, Some(429), None).kind_label(),
            "Throttled"
        );
        assert_eq!(
            from_code(&site(), None, None, Some(503), None).kind_label(),
            "Unavailable"
        );
        assert_eq!(
            from_code(&site(), None, None, Some(403), None).kind_label(),
            "PermissionDenied"
        );
    }

    #[test]
    fn throttling_carries_retry_after_when_sent() {
        // Without Retry-After the engine waits by the store's retry policy.
        let err = from_code(&site(), Some("ThrottlingException"), None, Some(400), None);
        assert_eq!(err.retry_after(), None);
        assert!(err.is_transient());
        let err = from_code(
            &site(),
            Some("ThrottlingException"),
            None,
            Some(400),
            Some(Duration::from_secs(7)),
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn not_found_names_key_and_region() {
        let msg = from_code(
            &site(),
            Some("ResourceNotFoundException"),
            Some("Secrets Manager can't find the specified secret."),
            Some(400),
            None,
        )
        .to_string();
        assert!(msg.contains("secret \"db\""), "{msg}");
        assert!(msg.contains("eu-west-1"), "{msg}");
        assert!(msg.contains("spec.provider.aws.region"), "{msg}");
    }

    #[test]
    fn xml_error_bodies_are_read() {
        let body = b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: x is not authorized</Message></Error></ErrorResponse>";
        assert_eq!(
            xml_error_field(body, "Code").as_deref(),
            Some("AccessDenied")
        );
        assert_eq!(
            xml_error_field(body, "Message").as_deref(),
            Some("User: x is not authorized")
        );
        assert_eq!(xml_error_field(b"{}", "Code"), None);
    }

    #[test]
    fn deletion_is_not_found() {
        let err = from_code(
            &site(),
            Some("InvalidRequestException"),
            Some(
                "You can't perform this operation on the secret because it was marked for deletion.",
            ),
            Some(400),
            None,
        );
        assert_eq!(err.kind_label(), "NotFound");
    }
}
