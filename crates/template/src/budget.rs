//! What one render may consume: [`Limits`] (sizes, nesting, steps, cost, deadline) and the
//! [`Budget`] that counts against them.
//!
//! Sizes are checked before anything is allocated: functions that can produce more than a
//! small multiple of their input (`repeat`, `printf` widths, `until`, `toJson`, …) ask the
//! budget first, printing goes through a [`Bounded`] writer, and the executor checks every
//! function result (string length, elements, nesting) before anything else sees it.
//! Expensive functions (bcrypt, scrypt, key generation, PKCS#12 key derivation, large
//! regular expressions) are charged in *cost units* (about one millisecond of one core each,
//! see [`cost`]) before they run. The deadline is checked between evaluation steps and before
//! every charged function.

use std::time::{Duration, Instant};

/// Limits of one render. [`Limits::default`] is what the engine, the CLI and the operator use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest rendered output, in bytes.
    pub max_output_bytes: usize,
    /// Largest string a function may produce, in bytes.
    pub max_string_bytes: usize,
    /// Most elements in one list or map.
    pub max_collection_len: usize,
    /// Deepest nesting of lists and maps.
    pub max_value_depth: u32,
    /// Bytes all function results of the render may allocate together.
    pub max_allocated_bytes: u64,
    /// Evaluation steps (nodes walked, commands run, loop iterations, element operations).
    pub max_steps: u64,
    /// Deepest `{{template}}` recursion.
    pub max_template_depth: usize,
    /// Deepest execution nesting (`if`/`range`/`with` bodies, parenthesized pipelines and
    /// `{{template}}` calls together); bounds the stack a render needs.
    pub max_exec_depth: usize,
    /// Cost units expensive functions may spend (see [`cost`]).
    pub max_cost: u64,
    /// Wall-clock time a render may take (`None`: no deadline).
    pub deadline: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output_bytes: 4 << 20,
            max_string_bytes: 4 << 20,
            max_collection_len: 100_000,
            max_value_depth: 100,
            max_allocated_bytes: 64 << 20,
            max_steps: 10_000_000,
            max_template_depth: 100,
            max_exec_depth: 300,
            max_cost: cost::DEFAULT_BUDGET,
            deadline: Some(Duration::from_secs(10)),
        }
    }
}

/// Cost units charged by expensive functions: relative weights in which one unit stands for
/// about a thousand PBKDF2-HMAC-SHA-256 rounds (of the order of a millisecond of one core);
/// the others are set from that scale (bcrypt cost 10 ≈ a hundred times that, RSA key
/// generation growing with the cube of the key size). They are not a measurement.
pub mod cost {
    /// Budget of one render: a few key generations, bcrypt or scrypt calls, no more.
    pub const DEFAULT_BUDGET: u64 = 6_000;
    /// bcrypt at sprig's cost 10 (`bcrypt`, `htpasswd`).
    pub const BCRYPT: u64 = 100;
    /// scrypt N=32768 r=8 p=2 (`derivePassword`).
    pub const SCRYPT: u64 = 250;
    /// A P-256 or Ed25519 key (generation or one signature).
    pub const EC_KEY: u64 = 2;
    /// RSA key generation: `bits` = 2048 → 400, 4096 → 3200 (grows with the cube).
    pub fn rsa_keygen(bits: usize) -> u64 {
        let k = (bits as u64).div_ceil(1024).max(1);
        50 * k * k * k
    }
    /// One RSA private-key operation (signature, decryption) or key validation.
    pub fn rsa_private_op(bits: usize) -> u64 {
        let k = (bits as u64).div_ceil(1024).max(1);
        (k * k * k).div_ceil(8)
    }
    /// PBKDF2 / PKCS#12 key derivation with `iterations` rounds.
    pub fn kdf(iterations: u64) -> u64 {
        iterations.div_ceil(1000)
    }
    /// Matching a regular expression of `states` NFA states over `input` bytes (the worst
    /// case of the regex crate's fallback engine is proportional to their product).
    pub fn regex(states: usize, input: usize) -> u64 {
        ((states as u64).saturating_mul(input as u64) / 4_000_000).saturating_add(1)
    }
}

/// Bytes a map of `len` entries whose keys hold `key_bytes` occupies (a B-tree allocates
/// nodes of eleven slots, so even a small map costs a few hundred bytes).
pub(crate) fn map_bytes(len: usize, key_bytes: usize) -> u64 {
    512 + (len as u64) * 64 + key_bytes as u64
}

/// Bytes a list of `len` elements occupies.
pub(crate) fn list_bytes(len: usize) -> u64 {
    64 + (len as u64) * std::mem::size_of::<crate::Value>() as u64
}

/// The running account of one render (or of several renders that share it, like all the
/// templates of one ExternalSecret).
#[derive(Debug, Clone)]
pub struct Budget {
    limits: Limits,
    steps: u64,
    cost: u64,
    allocated: u64,
    deadline: Option<Instant>,
}

impl Budget {
    /// A fresh budget; the deadline starts now.
    pub fn new(limits: Limits) -> Self {
        let deadline = limits.deadline.map(|d| Instant::now() + d);
        Budget {
            limits,
            steps: 0,
            cost: 0,
            allocated: 0,
            deadline,
        }
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Evaluation steps used so far.
    pub fn steps_used(&self) -> u64 {
        self.steps
    }

    /// Cost units spent so far.
    pub fn cost_spent(&self) -> u64 {
        self.cost
    }

    /// Bytes of function results allocated so far.
    pub fn allocated_bytes(&self) -> u64 {
        self.allocated
    }

    /// Counts `n` evaluation steps; checks the deadline every 256 steps.
    pub(crate) fn step(&mut self, n: u64) -> Result<(), String> {
        let before = self.steps;
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.limits.max_steps {
            return Err(format!(
                "the render exceeded its limit of {} evaluation steps",
                self.limits.max_steps
            ));
        }
        if before >> 8 != self.steps >> 8 {
            self.check_deadline()?;
        }
        Ok(())
    }

    /// Charges `units` of expensive work before it runs, and checks the deadline.
    pub(crate) fn charge(&mut self, units: u64) -> Result<(), String> {
        self.check_deadline()?;
        let total = self.cost.saturating_add(units);
        if total > self.limits.max_cost {
            return Err(format!(
                "the render's budget of {} cost units is spent ({} used, this call needs {units})",
                self.limits.max_cost, self.cost
            ));
        }
        self.cost = total;
        Ok(())
    }

    /// Fails once the deadline has passed.
    pub(crate) fn check_deadline(&self) -> Result<(), String> {
        match (self.deadline, self.limits.deadline) {
            (Some(at), Some(d)) if Instant::now() >= at => Err(format!(
                "the render exceeded its deadline of {} ms",
                d.as_millis()
            )),
            _ => Ok(()),
        }
    }

    /// Counts `bytes` newly allocated by a function result.
    pub(crate) fn allocate(&mut self, bytes: u64) -> Result<(), String> {
        let total = self.allocated.saturating_add(bytes);
        if total > self.limits.max_allocated_bytes {
            return Err(format!(
                "the render would allocate more than its limit of {} bytes",
                self.limits.max_allocated_bytes
            ));
        }
        self.allocated = total;
        Ok(())
    }

    /// Checks a string length before it is allocated.
    pub(crate) fn check_string(&self, len: u128) -> Result<(), String> {
        if len > self.limits.max_string_bytes as u128 {
            return Err(self.string_error());
        }
        let left = self
            .limits
            .max_allocated_bytes
            .saturating_sub(self.allocated);
        if len > u128::from(left) {
            return Err(format!(
                "the render would allocate more than its limit of {} bytes",
                self.limits.max_allocated_bytes
            ));
        }
        Ok(())
    }

    /// The error for a string over the limit.
    pub(crate) fn string_error(&self) -> String {
        format!(
            "the result would exceed the limit of {} bytes per string",
            self.limits.max_string_bytes
        )
    }

    /// Checks the number of elements of a list or map before it is built.
    pub(crate) fn check_len(&self, len: u128) -> Result<(), String> {
        if len > self.limits.max_collection_len as u128 {
            return Err(format!(
                "a list or map would exceed the limit of {} elements",
                self.limits.max_collection_len
            ));
        }
        Ok(())
    }

    /// A writer for one string result: fails past the string limit.
    pub(crate) fn writer<'o>(&self, out: &'o mut Vec<u8>) -> Bounded<'o> {
        let left = self
            .limits
            .max_allocated_bytes
            .saturating_sub(self.allocated);
        let limit = self
            .limits
            .max_string_bytes
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        Bounded::new(out, limit)
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(Limits::default())
    }
}

/// A byte sink that refuses to grow past a limit.
pub(crate) struct Bounded<'o> {
    out: &'o mut Vec<u8>,
    limit: usize,
}

/// A write would have passed a [`Bounded`] writer's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

impl<'o> Bounded<'o> {
    /// Writes into `out` until it holds `limit` bytes.
    pub(crate) fn new(out: &'o mut Vec<u8>, limit: usize) -> Self {
        Bounded { out, limit }
    }

    /// Appends `bytes`, or fails without appending.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), TooLarge> {
        self.reserve(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// Appends `n` copies of `byte`, or fails without appending.
    pub(crate) fn repeat(&mut self, byte: u8, n: usize) -> Result<(), TooLarge> {
        self.reserve(n)?;
        self.out.resize(self.out.len() + n, byte);
        Ok(())
    }

    /// Fails if `n` more bytes would pass the limit.
    pub(crate) fn reserve(&self, n: usize) -> Result<(), TooLarge> {
        match self.out.len().checked_add(n) {
            Some(total) if total <= self.limit => Ok(()),
            _ => Err(TooLarge),
        }
    }

    /// Bytes that may still be written.
    pub(crate) fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_refuses_to_pass_its_limit() {
        let mut buf = Vec::new();
        let mut w = Bounded::new(&mut buf, 4);
        assert_eq!(w.push(b"abc"), Ok(()));
        assert_eq!(w.push(b"de"), Err(TooLarge));
        assert_eq!(w.repeat(b'x', usize::MAX), Err(TooLarge));
        assert_eq!(w.push(b"d"), Ok(()));
        assert_eq!(buf, b"abcd");
    }

    #[test]
    fn steps_cost_and_allocation_are_counted_against_their_limits() {
        let mut b = Budget::new(Limits {
            max_steps: 10,
            max_cost: 5,
            max_allocated_bytes: 100,
            ..Limits::default()
        });
        assert!(b.step(10).is_ok());
        assert!(b.step(1).unwrap_err().contains("10 evaluation steps"));
        assert!(b.charge(5).is_ok());
        assert!(b.charge(1).unwrap_err().contains("budget of 5 cost units"));
        assert!(b.allocate(100).is_ok());
        assert!(b.allocate(1).unwrap_err().contains("100 bytes"));
        assert!(b.check_string(1).is_err(), "nothing left to allocate");
    }

    #[test]
    fn a_passed_deadline_fails_every_check() {
        let b = Budget::new(Limits {
            deadline: Some(Duration::ZERO),
            ..Limits::default()
        });
        assert!(b.check_deadline().unwrap_err().contains("deadline of 0 ms"));
        let none = Budget::new(Limits {
            deadline: None,
            ..Limits::default()
        });
        assert!(none.check_deadline().is_ok());
    }

    #[test]
    fn rsa_costs_grow_with_the_key_size() {
        assert_eq!(cost::rsa_keygen(2048), 400);
        assert_eq!(cost::rsa_keygen(4096), 3_200);
        assert!(cost::rsa_keygen(4096) < cost::DEFAULT_BUDGET);
        assert_eq!(cost::rsa_private_op(4096), 8);
        assert_eq!(cost::kdf(2048), 3);
    }
}
