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
//! # Authentication
//!
//! Credentials come only from the [`CredentialResolver`](secretsync_model::credentials::CredentialResolver):
//!
//! - `auth.secretRef`: access key id, secret access key and optional session token from Secrets.
//! - `auth.jwt.serviceAccountRef`: a TokenRequest token for the ServiceAccount (audience
//!   `sts.amazonaws.com`, or its `eks.amazonaws.com/audience` annotation, plus the reference's
//!   `audiences`) is exchanged with `AssumeRoleWithWebIdentity` for the role in its
//!   `eks.amazonaws.com/role-arn` annotation.
//! - no `auth`: the process environment. Environment keys win; otherwise IRSA
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
//! # Caching and batching
//!
//! - **Credentials** are cached per provider instance and renewed
//!   [`credential_refresh_margin`](AwsOptions::credential_refresh_margin) before they expire
//!   (at the latest at 3/4 of their lifetime); credentials without expiry are re-resolved after
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
//!
//! # Errors
//!
//! `ResourceNotFoundException`/`ParameterNotFound` → `NotFound` (the message names the key and
//! region, since a wrong region looks exactly like a missing secret); access denied, unknown or
//! expired keys, bad signatures, KMS decryption refusals → `PermissionDenied`; throttling (any
//! throttling code or HTTP 429) → `Throttled` with a backoff hint; 5xx, timeouts and transport
//! failures → `Unavailable` (an unreachable regional endpoint says to check
//! `spec.provider.aws.region`); an invalid region name is rejected by [`AwsProvider::new`].
//! Messages never contain secret values or credentials.
//!
//! # Options
//!
//! [`AwsOptions`] holds process-level settings: the endpoint override, connect/attempt/operation
//! timeouts, attempts and backoff (the SDK's standard retry mode), the batch window and size,
//! credential renewal margins, the ServiceAccount token lifetime and the STS session name.

mod auth;
mod error;
mod options;
mod parameter_store;
mod provider;
mod secrets_manager;
mod single_flight;
mod value;

pub use options::AwsOptions;
pub use provider::AwsProvider;
pub use secrets_manager::MAX_BATCH_SIZE;
