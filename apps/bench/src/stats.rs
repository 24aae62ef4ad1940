//! min / median / p99 / max of a sample set, with nearest-rank percentiles, and the fields of a
//! metric line. Pure `core` code: xtask compiles this file for the host to unit-test it.

use core::fmt;

/// A sample set's summary, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Smallest sample.
    pub min: u64,
    /// Nearest-rank 50th percentile.
    pub median: u64,
    /// Nearest-rank 99th percentile.
    pub p99: u64,
    /// Largest sample.
    pub max: u64,
}

impl Summary {
    /// Summarises `samples` (sorting them in place); `None` if there are none.
    pub fn of(samples: &mut [u64]) -> Option<Summary> {
        let (&min, &max) = {
            samples.sort_unstable();
            (samples.first()?, samples.last()?)
        };
        Some(Summary {
            n: samples.len(),
            min,
            median: percentile(samples, 50),
            p99: percentile(samples, 99),
            max,
        })
    }
}

/// `n=.. min_ns=.. median_ns=.. p99_ns=.. max_ns=..` (what xtask's parser reads).
impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} min_ns={} median_ns={} p99_ns={} max_ns={}",
            self.n, self.min, self.median, self.p99, self.max
        )
    }
}

/// The nearest-rank `pct`th percentile of the non-empty, sorted `sorted`: the smallest sample
/// that at least `pct` % of the samples do not exceed.
fn percentile(sorted: &[u64], pct: usize) -> u64 {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(Summary::of(&mut []), None);
    }

    #[test]
    fn one_sample_is_every_figure() {
        let s = Summary::of(&mut [7]).unwrap();
        assert_eq!((s.n, s.min, s.median, s.p99, s.max), (1, 7, 7, 7, 7));
    }

    #[test]
    fn nearest_rank_on_unsorted_input() {
        // 1..=100 shuffled: the median is the 50th value, p99 the 99th.
        let mut samples: [u64; 100] = core::array::from_fn(|i| ((i * 37) % 100 + 1) as u64);
        let s = Summary::of(&mut samples).unwrap();
        assert_eq!((s.n, s.min, s.median, s.p99, s.max), (100, 1, 50, 99, 100));
        // Odd count: the middle value; p99 of 5 samples is the largest.
        let s = Summary::of(&mut [50, 10, 40, 20, 30]).unwrap();
        assert_eq!((s.median, s.p99), (30, 50));
        // Even count: the lower middle value.
        assert_eq!(Summary::of(&mut [4, 1, 3, 2]).unwrap().median, 2);
    }

    #[test]
    fn one_outlier_in_a_thousand_moves_max_not_p99() {
        let mut samples = [1_000u64; 1000];
        samples[500] = 1_000_000;
        let s = Summary::of(&mut samples).unwrap();
        assert_eq!((s.p99, s.max), (1_000, 1_000_000));
        samples[..20].fill(5_000);
        assert_eq!(Summary::of(&mut samples).unwrap().p99, 5_000);
    }
}
