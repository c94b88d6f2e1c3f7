//! AWS Secrets Manager and Parameter Store provider (ESO `spec.provider.aws`).
//!
//! Build one [`AwsProvider`] per store (and per reading namespace for ClusterSecretStores with
//! namespace-less credential references) with [`AwsProvider::new`], and keep it: it caches
//! credentials and combines concurrent reads.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use secretsync_model::provider::StoreContext;
//! # use secretsync_model::providers::AwsSpec;
//! # use secretsync_model::credentials::StaticCredentials;
//! # use secretsync_model::{FetchRequest, SecretProvider};
//! # use secretsync_provider_aws::{AwsOptions, AwsProvider};
//! # async fn demo(context: StoreContext, spec: AwsSpec) -> Result<(), Box<dyn std::error::Error>> {
//! let provider = AwsProvider::new(context, spec, Arc::new(StaticCredentials::new()), AwsOptions::default())?;
//! let secret = provider.fetch(&FetchRequest::latest("prod/db")).await?;
//! # let _ = secret; Ok(()) }
//! ```
//!
//! # What is read
//!
//! Providers return the **raw** value; the engine applies `property`, decoding and `extract`.
//!
//! - **Secrets Manager** (`service: SecretsManager`): `GetSecretValue` by stage (`version`,
//!   default `AWSCURRENT`) or by version id (`version: uuid/<VersionId>`). `SecretBinary` wins
//!   over `SecretString` (as in ESO). `metadataPolicy: Fetch` returns the `DescribeSecret` tags
//!   as a JSON object (`{"key":"value"}`, keys sorted, Go's HTML escaping — byte-identical to
//!   ESO). `find` lists with `ListSecrets` filters (`path` → name prefix, `tags` → tag-key and
//!   tag-value), then re-checks on our side — AWS filters are prefix matches and key/value
//!   filters match independently — applies `name.regexp`, and reads the values in batches.
//! - **Parameter Store** (`service: ParameterStore`): `GetParameter` with decryption; `version`
//!   selects `name:version` (ESO's form). `metadataPolicy: Fetch` returns the
//!   `ListTagsForResource` tags as JSON. `find` uses `GetParametersByPath` (recursive, decrypted)
//!   for a `path`, and `DescribeParameters` (exact `tag:` filters) + `GetParameters` (10 names per
//!   call) for `tags` or a bare `name.regexp`.
//! - `prefix` is prepended to every key and to `find.path`; `find` returns names without it.
//! - The reported version is Secrets Manager's `VersionId` or the parameter's version number.
//!
//! # Writes (PushSecret)
//!
//! [`AwsProvider`] implements `secretsync_model::SecretWriter` (module `write`), with ESO's
//! `managed-by: external-secrets` tag as the marker: a secret or parameter without it is never
//! written or deleted. Secrets Manager: `DescribeSecret` + `GetSecretValue`, then `CreateSecret`
//! (tags, `description`, `kmsKeyId`, `secretPushFormat` binary/string from the entry's
//! `PushSecretMetadata`) or `PutSecretValue` when the value differs, `TagResource`/`UntagResource`
//! when the metadata names tags; delete with the store's `secretsManager.forceDeleteWithoutRecovery`
//! or `recoveryWindowInDays`. Parameter Store: `GetParameter` + `ListTagsForResource`, then
//! `PutParameter` (`secretType`, `kmsKeyID` for SecureString, `tier`, tags on creation,
//! `Overwrite` after) and tag updates; `DeleteParameter`. A `property` push sets that member of
//! the JSON object and keeps the others; deleting it rewrites the object (the secret goes with its
//! last member) where ESO deletes the whole secret.
//!
//! # Authentication
//!
//! Credentials come only from the [`CredentialResolver`](secretsync_model::credentials::CredentialResolver):
//!
//! - `auth.secretRef`: access key id, secret access key and optional session token from Secrets.
//! - `auth.jwt.serviceAccountRef`: a TokenRequest token for the ServiceAccount (audience
//!   `sts.amazonaws.com`, or its `eks.amazonaws.com/audience` annotation, plus the reference's
//!   `audiences`) is exchanged with `AssumeRoleWithWebIdentity` for the role in its
//!   `eks.amazonaws.com/role-arn` annotation.
//! - no `auth`: the process environment — the operator's own identity, so only for
//!   ClusterSecretStores unless [`AwsOptions::ambient_identity`] allows every store (a
//!   SecretStore without `auth` fails to build with `InvalidStoreConfig` naming
//!   `spec.provider.aws.auth`). Environment keys win; otherwise IRSA
//!   (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`, optional `AWS_ROLE_SESSION_NAME`) is
//!   handled by this crate so its STS call honours the endpoint override; otherwise the SDK's
//!   default chain (profile, container/EKS Pod Identity, instance metadata).
//!
//! Then each of `additionalRoles` is assumed in order, then `role` with `externalID`,
//! `sessionTags` and `transitiveTagKeys`. `sessionTagsPolicy: Simple` adds `esoNamespace` (the
//! reading namespace, else the store's), `esoStoreName` and `esoStoreKind`; `Custom` adds
//! `customSessionTags` as well. Every STS call uses the store's region and
//! [`AwsOptions::endpoint_url`]; nothing reads `AWS_ENDPOINT_URL*` from the environment.
//!
//! # Generators
//!
//! [`StsSessionTokenGenerator`] (`STSSessionToken`: STS `GetSessionToken`, keys
//! `access_key_id`, `secret_access_key`, `session_token`, `expiration`) and
//! [`EcrAuthorizationTokenGenerator`] (`ECRAuthorizationToken`: ECR `GetAuthorizationToken`,
//! keys `username`, `password`, `proxy_endpoint`, `expires_at`), as ESO's `generators/v1/sts`
//! and `generators/v1/ecr`; expiries are Unix seconds. Credentials come from the spec's `auth`
//! and `role` through the chain above. `STSSessionToken` refuses `auth.jwt` (as ESO);
//! `ECRAuthorizationToken` with `scope: public` (ECR Public) is not supported yet. Tests:
//! `tests/integration/generators.rs` (moto).
//!
//! # Caching and batching
//!
//! - **Credentials** are cached per provider instance in the shared credential cache
//!   (`secretsync-provider-support`): renewed a quarter of their lifetime before they expire (at
//!   most five minutes before); credentials without expiry are re-resolved after
//!   [`static_credentials_ttl`](AwsOptions::static_credentials_ttl). One load runs at a time:
//!   concurrent callers share its result, so a burst of reads costs one STS exchange, and a
//!   failure is shared by the callers that waited for it rather than retried by each.
//! - **Batching** (Secrets Manager): concurrent reads of the latest version of distinct secrets
//!   are collected for [`batch_window`](AwsOptions::batch_window) (or until
//!   [`batch_size`](AwsOptions::batch_size), at most 20, ids are queued) and sent as one
//!   `BatchGetSecretValue`; per-id errors go back to the callers of that id. A lone id uses
//!   `GetSecretValue`. If the identity lacks `secretsmanager:BatchGetSecretValue`, reads fall
//!   back to `GetSecretValue` one by one. [`fetch_many`](secretsync_model::SecretProvider::fetch_many)
//!   and `find` use the same path.
//! - **Single-flight**: identical reads in flight (same key, version and metadata flag) are
//!   made once and every caller gets the result. Values themselves are not cached here.
//! - **Limits**: listings stop after [`ReadLimits::max_list_pages`](secretsync_provider_support::ReadLimits)
//!   pages and `find` fails before reading when more than `max_find_results` secrets match.
//!   (Response sizes are AWS's own; the endpoint is the process's, never a store's.)
//!
//! # Retries
//!
//! The SDK makes one attempt per call: providers never sleep. A throttled or failed call
//! returns `Throttled` (with AWS's `Retry-After`, seconds or HTTP date) or `Unavailable`, and
//! the engine retries under [`AwsProvider::with_retry_settings`] — ESO's mapping of the store's
//! `retrySettings` ([`RETRY_DEFAULTS`]).
//!
//! # Errors
//!
//! `ResourceNotFoundException`/`ParameterNotFound` → `NotFound` (the message names the key and
//! region, since a wrong region looks exactly like a missing secret); access denied, unknown or
//! expired keys, bad signatures, KMS decryption refusals → `PermissionDenied`; a missing
//! credential Secret or key → `InvalidStoreConfig`; throttling (any throttling code or HTTP
//! 429) → `Throttled`; 5xx, timeouts and transport
//! failures → `Unavailable` (an unreachable regional endpoint says to check
//! `spec.provider.aws.region`); an invalid region name is rejected by [`AwsProvider::new`].
//! Messages never contain secret values or credentials.
//!
//! # Options
//!
//! [`AwsOptions`] holds process-level settings: the endpoint override, connect/attempt/operation
//! timeouts, the batch window and size, the static-credential reload period, the
//! ServiceAccount token lifetime, the STS session name, read limits, who may use the
//! operator's identity, and the clock.

mod auth;
mod error;
mod generators;
mod options;
mod parameter_store;
mod provider;
mod secrets_manager;
mod value;
mod write;

pub use generators::{EcrAuthorizationTokenGenerator, StsSessionTokenGenerator};
pub use options::AwsOptions;
pub use provider::{AwsProvider, RETRY_DEFAULTS};
pub use secrets_manager::MAX_BATCH_SIZE;
