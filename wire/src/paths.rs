//! How a stop's targets were stopped, a count per path: `vector=<a> nmi=<b> self=<c> init=<d>
//! stuck=<e>`. Part of the `stop-summary:` line, and of the bench's stop metrics, which add up
//! the summaries of a series of stops.

use core::fmt;
use core::ops::AddAssign;

use crate::fields::Record;

/// Targets stopped (or not) by each path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paths {
    /// Stopped by the stop vector.
    pub vector: u64,
    /// Stopped by an NMI.
    pub nmi: u64,
    /// Stopped themselves (they lost the election).
    pub self_stop: u64,
    /// Parked with INIT.
    pub init: u64,
    /// Not confirmed stopped.
    pub stuck: u64,
}

impl Record<5> for Paths {
    const KEYS: &'static [&'static str; 5] = &["vector", "nmi", "self", "init", "stuck"];

    fn values(&self) -> [u64; 5] {
        [self.vector, self.nmi, self.self_stop, self.init, self.stuck]
    }

    fn from_values([vector, nmi, self_stop, init, stuck]: [u64; 5]) -> Self {
        Self {
            vector,
            nmi,
            self_stop,
            init,
            stuck,
        }
    }
}

impl Paths {
    /// Each count with its key, in the order of the line.
    pub fn counts(&self) -> [(&'static str, u64); 5] {
        self.pairs()
    }
}

impl AddAssign for Paths {
    fn add_assign(&mut self, other: Self) {
        self.vector += other.vector;
        self.nmi += other.nmi;
        self.self_stop += other.self_stop;
        self.init += other.init;
        self.stuck += other.stuck;
    }
}

/// `vector=<a> nmi=<b> self=<c> init=<d> stuck=<e>`.
impl fmt::Display for Paths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATHS: Paths = Paths {
        vector: 1,
        nmi: 2,
        self_stop: 3,
        init: 4,
        stuck: 5,
    };

    #[test]
    fn the_counts_round_trip() {
        let line = PATHS.to_string();
        assert_eq!(line, "vector=1 nmi=2 self=3 init=4 stuck=5");
        assert_eq!(Paths::parse_all(&line), Ok(PATHS));
        assert_eq!(
            PATHS.counts(),
            [
                ("vector", 1),
                ("nmi", 2),
                ("self", 3),
                ("init", 4),
                ("stuck", 5)
            ]
        );
    }

    #[test]
    fn counts_add_up_path_by_path() {
        let mut sum = Paths::default();
        sum += PATHS;
        sum += PATHS;
        assert_eq!(sum.to_string(), "vector=2 nmi=4 self=6 init=8 stuck=10");
    }
}
