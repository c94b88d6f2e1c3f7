//! `decodingStrategy`: ESO's `runtime/decoding.Decode`.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use secretsync_model::external_secret::DecodingStrategy;

/// Go's `base64.StdEncoding` decoder: padding required, trailing bits tolerated.
const GO_STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, go_config());
/// Go's `base64.URLEncoding` decoder.
const GO_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, go_config());

const fn go_config() -> GeneralPurposeConfig {
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true)
}

/// Why decoding failed (never contains the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The strategy that failed.
    pub strategy: DecodingStrategy,
    /// The decoder's reason (position of the bad byte, padding).
    pub reason: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.strategy {
            DecodingStrategy::Base64 => "Base64",
            DecodingStrategy::Base64Url => "Base64URL",
            DecodingStrategy::Auto => "Auto",
            DecodingStrategy::None => "None",
        };
        write!(f, "decodingStrategy {name}: {}", self.reason)
    }
}

fn decode_with(engine: &GeneralPurpose, input: &[u8]) -> Result<Vec<u8>, String> {
    // Go's decoder skips '\r' and '\n' anywhere in the input.
    let result = if input.iter().any(|b| *b == b'\r' || *b == b'\n') {
        let mut cleaned: Vec<u8> = input
            .iter()
            .copied()
            .filter(|b| *b != b'\r' && *b != b'\n')
            .collect();
        let r = engine.decode(&cleaned);
        zeroize_vec(&mut cleaned);
        r
    } else {
        engine.decode(input)
    };
    result.map_err(|e| match e {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("illegal base64 data at input byte {offset}")
        }
        base64::DecodeError::InvalidLength(_) => "illegal base64 data: invalid length".into(),
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("illegal base64 data at input byte {offset}")
        }
        base64::DecodeError::InvalidPadding => "illegal base64 data: invalid padding".into(),
    })
}

fn zeroize_vec(v: &mut [u8]) {
    for b in v.iter_mut() {
        // Volatile-free best effort; the model's SecretValue zeroizes the final buffers.
        *b = 0;
    }
}

/// Decodes `input` with `strategy`. `Auto` tries Base64, then Base64URL, then keeps the input.
pub fn decode(strategy: DecodingStrategy, input: &[u8]) -> Result<Vec<u8>, DecodeError> {
    match strategy {
        DecodingStrategy::None => Ok(input.to_vec()),
        DecodingStrategy::Base64 => {
            decode_with(&GO_STD, input).map_err(|reason| DecodeError { strategy, reason })
        }
        DecodingStrategy::Base64Url => {
            decode_with(&GO_URL, input).map_err(|reason| DecodeError { strategy, reason })
        }
        DecodingStrategy::Auto => Ok(decode_with(&GO_STD, input)
            .or_else(|_| decode_with(&GO_URL, input))
            .unwrap_or_else(|_| input.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_go() {
        assert_eq!(
            decode(DecodingStrategy::Base64, b"aGVsbG8=").unwrap(),
            b"hello"
        );
        assert_eq!(
            decode(DecodingStrategy::Base64, b"aGVs\nbG8=").unwrap(),
            b"hello"
        );
        // Go's StdEncoding requires padding.
        assert!(decode(DecodingStrategy::Base64, b"aGVsbG8").is_err());
        assert_eq!(
            decode(DecodingStrategy::Base64Url, b"_-8=").unwrap(),
            [0xff, 0xef]
        );
        assert!(decode(DecodingStrategy::Base64, b"_-8=").is_err());
        assert_eq!(
            decode(DecodingStrategy::Auto, b"_-8=").unwrap(),
            [0xff, 0xef]
        );
        assert_eq!(
            decode(DecodingStrategy::Auto, b"not base64!").unwrap(),
            b"not base64!"
        );
        assert_eq!(
            decode(DecodingStrategy::None, b"aGVsbG8=").unwrap(),
            b"aGVsbG8="
        );
    }
}
