//! Pure figures: percentiles, refresh spread and count deltas.

use std::collections::BTreeMap;
use std::time::Duration;

/// The `q`-quantile (0..=1) of `samples` by the nearest-rank method; `None` when empty.
pub fn percentile(samples: &[Duration], q: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

/// Refresh spread over a window: the busiest bucket against the average bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    /// Bucket length (the stand-in for one minute).
    pub bucket: Duration,
    /// Number of buckets in the window.
    pub buckets: usize,
    /// Refreshes in the busiest bucket.
    pub busiest: u64,
    /// Average refreshes per bucket.
    pub average: f64,
    /// Refreshes in each bucket, in order (where the busiest one falls).
    pub counts: Vec<u64>,
}

impl Spread {
    /// Busiest / average (`None` without any refresh).
    pub fn ratio(&self) -> Option<f64> {
        (self.average > 0.0).then(|| self.busiest as f64 / self.average)
    }
}

/// Buckets `events` (offsets from the window start) into whole `bucket`s of `window`; events
/// outside the window are ignored. `None` when the window holds no whole bucket.
pub fn spread(events: &[Duration], window: Duration, bucket: Duration) -> Option<Spread> {
    if bucket.is_zero() {
        return None;
    }
    let buckets = (window.as_nanos() / bucket.as_nanos()) as usize;
    if buckets == 0 {
        return None;
    }
    let mut counts = vec![0u64; buckets];
    for event in events {
        let index = (event.as_nanos() / bucket.as_nanos()) as usize;
        if let Some(c) = counts.get_mut(index) {
            *c += 1;
        }
    }
    let total: u64 = counts.iter().sum();
    Some(Spread {
        bucket,
        buckets,
        busiest: counts.iter().copied().max().unwrap_or(0),
        average: total as f64 / buckets as f64,
        counts,
    })
}

/// `after - before` per key (keys only in `after` count from zero; negative deltas are 0).
pub fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        })
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Every count divided by `per` (`per` = 0 gives an empty map).
pub fn per(counts: &BTreeMap<String, u64>, per: f64) -> BTreeMap<String, f64> {
    if per <= 0.0 {
        return BTreeMap::new();
    }
    counts
        .iter()
        .map(|(k, v)| (k.clone(), round3(*v as f64 / per)))
        .collect()
}

/// The sum of `values` (0 when empty: `Iterator::sum` of floats gives -0).
pub fn sum<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    values.into_iter().fold(0.0, |a, b| a + b)
}

/// Rounds to three decimals (figures in the report).
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let table: [(&[u64], f64, Option<u64>); 6] = [
            (&[], 0.5, None),
            (&[7], 0.99, Some(7)),
            (&[5, 1, 3, 2, 4], 0.5, Some(3)),
            (&[5, 1, 3, 2, 4], 0.99, Some(5)),
            (&[5, 1, 3, 2, 4], 0.0, Some(1)),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, Some(9)),
        ];
        for (samples, q, expected) in table {
            assert_eq!(
                percentile(&ms(samples), q),
                expected.map(Duration::from_millis),
                "{samples:?} q={q}"
            );
        }
    }

    #[test]
    fn spread_is_busiest_bucket_over_average() {
        let s = spread(
            &ms(&[0, 10, 20, 1500, 2500, 9999, 10_000]),
            Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .expect("ten buckets");
        assert_eq!(s.buckets, 10);
        assert_eq!(s.busiest, 3);
        assert!((s.average - 0.6).abs() < 1e-9, "{s:?}");
        assert_eq!(s.ratio().map(round3), Some(5.0));
        let even = spread(
            &ms(&[0, 1000, 2000]),
            Duration::from_secs(3),
            Duration::from_secs(1),
        )
        .expect("three buckets");
        assert_eq!(even.ratio(), Some(1.0));
        assert_eq!(
            spread(&[], Duration::from_millis(10), Duration::from_secs(1)),
            None
        );
        assert_eq!(
            spread(&[], Duration::from_secs(2), Duration::from_secs(1)).and_then(|s| s.ratio()),
            None
        );
    }

    #[test]
    fn deltas_and_per_object_figures() {
        let before = BTreeMap::from([("GET a".to_string(), 3), ("LIST b".to_string(), 1)]);
        let after = BTreeMap::from([
            ("GET a".to_string(), 7),
            ("LIST b".to_string(), 1),
            ("POST c".to_string(), 2),
        ]);
        let d = delta(&before, &after);
        assert_eq!(
            d,
            BTreeMap::from([("GET a".to_string(), 4), ("POST c".to_string(), 2)])
        );
        assert_eq!(
            per(&d, 3.0),
            BTreeMap::from([("GET a".to_string(), 1.333), ("POST c".to_string(), 0.667)])
        );
        assert!(per(&d, 0.0).is_empty());
        assert_eq!(sum(&[]).to_string(), "0");
        assert_eq!(sum(&[1.5, 2.0]), 3.5);
    }
}
