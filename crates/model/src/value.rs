//! Secret value types: bytes that are zeroized on drop and never printed.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretBox};

/// Secret bytes. `Debug` prints `[REDACTED]`; the buffer is zeroized on drop.
pub struct SecretValue(SecretBox<[u8]>);

impl SecretValue {
    /// Wraps bytes (the vector is moved, not copied).
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretValue(SecretBox::new(bytes.into_boxed_slice()))
    }

    /// Copies a UTF-8 string into a secret value.
    pub fn from_str_value(s: &str) -> Self {
        Self::new(s.as_bytes().to_vec())
    }

    /// The bytes. Call only where the value must be used (rendering, writing).
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The bytes as UTF-8, if they are.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose()).ok()
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.expose().len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl Clone for SecretValue {
    fn clone(&self) -> Self {
        SecretValue::new(self.expose().to_vec())
    }
}

impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for SecretValue {}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValue([REDACTED], {} bytes)", self.len())
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(v: Vec<u8>) -> Self {
        SecretValue::new(v)
    }
}

impl From<String> for SecretValue {
    fn from(s: String) -> Self {
        SecretValue::new(s.into_bytes())
    }
}

impl From<&str> for SecretValue {
    fn from(s: &str) -> Self {
        SecretValue::from_str_value(s)
    }
}

/// Secret data keyed by Secret key; ordered so output is deterministic.
pub type SecretData = BTreeMap<String, SecretValue>;

/// A value read from a provider, with the version the provider reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteSecret {
    /// The raw value (JSON for structured secrets, e.g. Vault KV data or tags).
    pub value: SecretValue,
    /// Provider-reported version, when known.
    pub version: Option<String>,
}

impl RemoteSecret {
    /// A value without version information.
    pub fn new(value: impl Into<SecretValue>) -> Self {
        RemoteSecret {
            value: value.into(),
            version: None,
        }
    }
}
