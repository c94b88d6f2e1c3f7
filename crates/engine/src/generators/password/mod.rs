//! The `Password` generator: ESO's rules (sethvargo/go-password as ESO calls it) with a CSPRNG.
//!
//! - `length` ≤ 0 means 24; `digits` and `symbols` default to 25% of the length (rounded
//!   down); the rest are letters (lowercase, plus uppercase unless `noUpper`).
//! - Without `allowRepeat` no character appears twice, so a class may not ask for more
//!   characters than it has (10 digits, 52 or 26 letters, the symbol set).
//! - `symbolCharacters` replaces the default symbol set (an empty value means the default).
//! - `secretKeys` (default `password`) each get their own password; `encoding` applies last.
//!
//! Beyond ESO, and documented: negative counts and lengths over [`MAX_LENGTH`] are errors
//! (ESO would hang or exhaust memory), and characters are Unicode scalars, not bytes.

use base64::Engine as _;
use rand::Rng;
use rand::seq::SliceRandom;
use secretsync_model::generator::{PasswordEncoding, PasswordSpec};
use secretsync_model::value::{SecretData, SecretValue};
use zeroize::Zeroizing;

/// ESO's default symbol characters.
pub const DEFAULT_SYMBOLS: &str = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./";

/// The longest password secretsync generates (a Secret holds at most 1 MiB).
pub const MAX_LENGTH: i64 = 65_536;

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";

/// The counts and sets one password is drawn from, after ESO's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordRules {
    /// Total characters.
    pub length: usize,
    /// Digits among them.
    pub digits: usize,
    /// Symbols among them.
    pub symbols: usize,
    /// The symbol set.
    pub symbol_characters: Vec<char>,
    /// No uppercase letters.
    pub no_upper: bool,
    /// Characters may repeat.
    pub allow_repeat: bool,
}

impl PasswordRules {
    /// ESO's defaults applied to `spec`, and its checks. Errors name the field.
    pub fn of(spec: &PasswordSpec) -> Result<Self, String> {
        if spec.length > MAX_LENGTH {
            return Err(format!("spec.length: expected at most {MAX_LENGTH}"));
        }
        let length = if spec.length > 0 { spec.length } else { 24 };
        // ESO: int(float32(length) * 0.25).
        let quarter = length / 4;
        let count = |value: Option<i64>, field: &str| -> Result<usize, String> {
            let v = value.unwrap_or(quarter);
            usize::try_from(v).map_err(|_| format!("spec.{field}: expected 0 or more"))
        };
        let digits = count(spec.digits, "digits")?;
        let symbols = count(spec.symbols, "symbols")?;
        let symbol_characters: Vec<char> = match spec.symbol_characters.as_deref() {
            Some(s) if !s.is_empty() => s.chars().collect(),
            _ => DEFAULT_SYMBOLS.chars().collect(),
        };
        let rules = PasswordRules {
            length: usize::try_from(length).unwrap_or(24),
            digits,
            symbols,
            symbol_characters,
            no_upper: spec.no_upper,
            allow_repeat: spec.allow_repeat,
        };
        rules.check()?;
        Ok(rules)
    }

    fn letters(&self) -> usize {
        self.length - self.digits - self.symbols
    }

    fn check(&self) -> Result<(), String> {
        if self.digits.saturating_add(self.symbols) > self.length {
            return Err(format!(
                "spec.digits + spec.symbols ({} + {}): expected at most the length {}",
                self.digits, self.symbols, self.length
            ));
        }
        if self.allow_repeat {
            return Ok(());
        }
        let letters = if self.no_upper { 26 } else { 52 };
        if self.letters() > letters {
            return Err(format!(
                "spec.length: {} letters without repeats, but only {letters} exist (set allowRepeat)",
                self.letters()
            ));
        }
        if self.digits > DIGITS.len() {
            return Err(format!(
                "spec.digits: {} digits without repeats, but only 10 exist (set allowRepeat)",
                self.digits
            ));
        }
        let mut distinct = self.symbol_characters.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if self.symbols > distinct.len() {
            return Err(format!(
                "spec.symbols: {} symbols without repeats, but symbolCharacters has {} (set allowRepeat)",
                self.symbols,
                distinct.len()
            ));
        }
        Ok(())
    }

    /// One password drawn from `rng`.
    pub fn generate(&self, rng: &mut impl Rng) -> Result<Zeroizing<String>, String> {
        let letters: Vec<char> = if self.no_upper {
            LOWER.chars().collect()
        } else {
            LOWER.chars().chain(UPPER.chars()).collect()
        };
        let digits: Vec<char> = DIGITS.chars().collect();
        let mut out: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(self.length));
        for (set, count) in [
            (&letters, self.letters()),
            (&digits, self.digits),
            (&self.symbol_characters, self.symbols),
        ] {
            self.draw(set, count, &mut out, rng)?;
        }
        // Inserting each character at a uniform position (go-password) yields a uniform
        // permutation: the same as one shuffle.
        out.shuffle(rng);
        Ok(Zeroizing::new(out.iter().collect()))
    }

    /// Draws `count` characters of `set` into `out`; without repeats, only characters not in
    /// `out` yet (go-password's rejection loop, without its endless retry when a symbol set
    /// overlaps letters or digits).
    fn draw(
        &self,
        set: &[char],
        count: usize,
        out: &mut Vec<char>,
        rng: &mut impl Rng,
    ) -> Result<(), String> {
        for _ in 0..count {
            let ch = if self.allow_repeat {
                set[rng.random_range(0..set.len())]
            } else {
                let free: Vec<char> = set.iter().filter(|c| !out.contains(c)).copied().collect();
                if free.is_empty() {
                    return Err(
                        "spec.symbolCharacters: not enough distinct characters left without repeats (set allowRepeat)".into(),
                    );
                }
                free[rng.random_range(0..free.len())]
            };
            out.push(ch);
        }
        Ok(())
    }
}

/// Generates one password per secret key, encoded as asked.
pub fn generate(spec: &PasswordSpec, rng: &mut impl Rng) -> Result<SecretData, String> {
    let rules = PasswordRules::of(spec)?;
    let keys = secret_keys(&spec.secret_keys)?;
    let mut data = SecretData::new();
    for key in keys {
        let password = rules.generate(rng)?;
        data.insert(
            key.to_string(),
            encode(password.as_bytes(), spec.encoding.unwrap_or_default()),
        );
    }
    Ok(data)
}

/// `secretKeys`, defaulting to `password`; each non-empty and unique (ESO's rule).
fn secret_keys(keys: &[String]) -> Result<Vec<&str>, String> {
    if keys.is_empty() {
        return Ok(vec!["password"]);
    }
    let mut seen = std::collections::BTreeSet::new();
    for key in keys {
        if key.is_empty() || !seen.insert(key.as_str()) {
            return Err("spec.secretKeys: expected non-empty, unique keys".into());
        }
    }
    Ok(keys.iter().map(String::as_str).collect())
}

fn encode(raw: &[u8], encoding: PasswordEncoding) -> SecretValue {
    let encoded = match encoding {
        PasswordEncoding::Raw => return SecretValue::new(raw.to_vec()),
        PasswordEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(raw),
        PasswordEncoding::Base64url => base64::engine::general_purpose::URL_SAFE.encode(raw),
        PasswordEncoding::Base32 => secretsync_template::funcs::base32_std(raw),
        PasswordEncoding::Hex => secretsync_template::funcs::hex_lower(raw),
    };
    SecretValue::new(Zeroizing::new(encoded).as_bytes().to_vec())
}

#[cfg(test)]
mod tests;
