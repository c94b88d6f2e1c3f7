//! Value processing: property lookup, extraction, decoding and key conversion.

pub mod convert;
pub mod decode;
pub(crate) mod gojson;
pub(crate) mod json;
pub mod property;

use secretsync_model::value::{SecretData, SecretValue};

pub use convert::{convert_key, convert_keys, validate_keys};
pub use decode::{DecodeError, decode};
pub use property::{PropertyError, lookup_property};

/// ESO's `GetSecretMap` on a JSON object: every member becomes a key; strings are unquoted,
/// other values keep their raw JSON text. `None` when the value is not a JSON object.
pub fn extract_map(document: &[u8]) -> Option<SecretData> {
    let text = std::str::from_utf8(document).ok()?;
    let members = json::parse_object(text)?;
    Some(
        members
            .into_iter()
            .map(|(k, v)| (k, SecretValue::new(json::extract_bytes(v))))
            .collect(),
    )
}
