//! The app's arguments (after ` -- ` on the boot command line): `[iters=N] [restarts=N] [boot]`.

use wire::split::words;

/// Iterations per metric when `iters=` is not given.
const DEFAULT_ITERS: usize = 1000;

/// Parsed arguments.
#[derive(Debug)]
pub struct Args {
    /// Samples to take of each metric.
    pub iters: usize,
    /// Restart-latency mode: warm restarts to sample instead of the other metrics.
    pub restarts: Option<u64>,
    /// Boot-time mode: report the boot's time and power off.
    pub boot: bool,
}

impl Args {
    /// Parses the app's part of the boot command line; `Err` names the bad word.
    pub fn parse(line: &str) -> Result<Self, &str> {
        let mut args = Args {
            iters: DEFAULT_ITERS,
            restarts: None,
            boot: false,
        };
        for word in words(line) {
            let bad = word.text;
            match (word.key, word.value) {
                ("iters", Some(value)) => {
                    args.iters = value.parse().ok().filter(|&n| n > 0).ok_or(bad)?;
                }
                ("restarts", Some(value)) => {
                    args.restarts = Some(value.parse().ok().filter(|&n| n > 0).ok_or(bad)?);
                }
                ("boot", None) => args.boot = true,
                _ => return Err(bad),
            }
        }
        Ok(args)
    }
}
