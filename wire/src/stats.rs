//! min / median / p99 / max of a sample set, with nearest-rank percentiles: the bench app
//! summarises its samples with it, and xtask its host-timed ones, so both agree.

/// A sample set's statistics (in the samples' unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Number of samples.
    pub n: u64,
    /// Smallest sample.
    pub min: u64,
    /// Nearest-rank 50th percentile.
    pub median: u64,
    /// Nearest-rank 99th percentile.
    pub p99: u64,
    /// Largest sample.
    pub max: u64,
}

impl Stats {
    /// The statistics of `samples` (sorting them in place); `None` if there are none.
    pub fn of(samples: &mut [u64]) -> Option<Stats> {
        samples.sort_unstable();
        let (&min, &max) = (samples.first()?, samples.last()?);
        Some(Stats {
            n: samples.len() as u64,
            min,
            median: percentile(samples, 50),
            p99: percentile(samples, 99),
            max,
        })
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
    fn no_samples_no_stats() {
        assert_eq!(Stats::of(&mut []), None);
    }

    #[test]
    fn one_sample_is_every_figure() {
        let s = Stats::of(&mut [7]).unwrap();
        assert_eq!((s.n, s.min, s.median, s.p99, s.max), (1, 7, 7, 7, 7));
    }

    #[test]
    fn nearest_rank_on_unsorted_input() {
        // 1..=100 shuffled: the median is the 50th value, p99 the 99th.
        let mut samples: [u64; 100] = core::array::from_fn(|i| ((i * 37) % 100 + 1) as u64);
        let s = Stats::of(&mut samples).unwrap();
        assert_eq!((s.n, s.min, s.median, s.p99, s.max), (100, 1, 50, 99, 100));
        // Odd count: the middle value; p99 of 5 samples is the largest.
        let s = Stats::of(&mut [50, 10, 40, 20, 30]).unwrap();
        assert_eq!((s.median, s.p99), (30, 50));
        // Even count: the lower middle value.
        assert_eq!(Stats::of(&mut [4, 1, 3, 2]).unwrap().median, 2);
    }

    #[test]
    fn one_outlier_in_a_thousand_moves_max_not_p99() {
        let mut samples = [1_000u64; 1000];
        samples[500] = 1_000_000;
        let s = Stats::of(&mut samples).unwrap();
        assert_eq!((s.p99, s.max), (1_000, 1_000_000));
        samples[..20].fill(5_000);
        assert_eq!(Stats::of(&mut samples).unwrap().p99, 5_000);
    }
}
