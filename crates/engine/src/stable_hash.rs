//! A stable, fast 64-bit hash (FNV-1a with a final mix), the same across runs, builds and
//! processes, and the per-object phase derived from it.

use std::hash::{Hash, Hasher};
use std::time::Duration;

/// The object's phase inside an interval: a stable hash of its key, in `[0, interval)`.
pub fn phase_of<K: Hash + ?Sized>(key: &K, interval: Duration) -> Duration {
    let mut h = StableHasher::default();
    key.hash(&mut h);
    let nanos = interval.as_nanos().max(1);
    Duration::from_nanos((u128::from(h.finish()) % nanos) as u64)
}

/// FNV-1a with a splitmix64 finish: deterministic, unlike std's `RandomState`.
#[derive(Clone, Copy)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        // Final avalanche (splitmix64) so nearby keys land far apart.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_is_stable_and_inside_the_interval() {
        let hour = Duration::from_secs(3600);
        let a = phase_of("ns/a", hour);
        assert_eq!(a, phase_of("ns/a", hour));
        assert!(a < hour);
        assert_ne!(a, phase_of("ns/b", hour));
        assert_eq!(phase_of("ns/a", Duration::ZERO), Duration::ZERO);
    }
}
