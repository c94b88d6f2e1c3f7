//! The provider *write* trait PushSecrets use, next to the read trait in [`crate::provider`].
//!
//! Every write path marks what it creates with ESO's marker ([`MANAGED_BY_KEY`] =
//! [`MANAGED_BY_VALUE`]: Vault `custom_metadata`, AWS and Azure tags), so secrets pushed by ESO
//! stay pushable after a move to secretsync and vice versa. A remote secret without the marker
//! is never overwritten or deleted.

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::push_secret::PushSecretRemoteRef;
use crate::value::SecretValue;

/// Key of ESO's managed-by marker (Vault custom metadata, AWS tag, Azure tag).
pub const MANAGED_BY_KEY: &str = "managed-by";
/// Value of ESO's managed-by marker; secretsync writes the same value.
pub const MANAGED_BY_VALUE: &str = "external-secrets";

/// One value to push.
#[derive(Debug)]
pub struct PushRequest<'a> {
    /// Where: remote key and, optionally, a property within it.
    pub remote: &'a PushSecretRemoteRef,
    /// What: the bytes of one Secret key, or (for a push of the whole Secret) the Secret's data
    /// as a JSON object of strings.
    pub value: &'a SecretValue,
    /// Provider-specific metadata of the entry (`data[].metadata`), not secret.
    pub metadata: Option<&'a serde_json::Value>,
}

/// What exists at a remote location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteState {
    /// Nothing (for a property push: the remote secret or the property is absent).
    Absent,
    /// Present and carrying the managed-by marker.
    Managed,
    /// Present without the marker: owned by someone else.
    Unmanaged,
}

/// What a push did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The remote secret (or property) was created.
    Created,
    /// The remote value differed and was replaced.
    Updated,
    /// The remote value already matched; nothing was written.
    Unchanged,
}

/// What a delete did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The remote secret (or property) was removed.
    Deleted,
    /// There was nothing to delete.
    Absent,
    /// The remote secret is not managed by secretsync or ESO and was left alone.
    NotManaged,
}

/// A provider that can write. Values and metadata never appear in errors.
#[async_trait]
pub trait SecretWriter: Send + Sync {
    /// What exists at `remote`.
    async fn remote_state(
        &self,
        remote: &PushSecretRemoteRef,
    ) -> Result<RemoteState, ProviderError>;

    /// Writes a value, creating the remote secret with the marker when absent and replacing the
    /// value when it differs. Refuses with [`ProviderError::NotManaged`] when the remote secret
    /// exists without the marker.
    async fn push(&self, request: &PushRequest<'_>) -> Result<PushOutcome, ProviderError>;

    /// Deletes a remote secret (or only the property, keeping the others) when it carries the
    /// marker; leaves unmanaged ones alone.
    async fn delete(&self, remote: &PushSecretRemoteRef) -> Result<DeleteOutcome, ProviderError>;
}

/// The message of [`ProviderError::NotManaged`] for a remote key.
pub fn not_managed(remote: &PushSecretRemoteRef) -> ProviderError {
    ProviderError::NotManaged(format!(
        "remote secret {:?} exists and is not managed by secretsync or external-secrets (no {MANAGED_BY_KEY}={MANAGED_BY_VALUE} marker); it is never overwritten",
        remote.remote_key
    ))
}
