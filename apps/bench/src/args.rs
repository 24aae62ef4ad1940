//! The app's arguments (after ` -- ` on the boot command line): `[iters=N] [restarts=N]`.

/// Iterations per metric when `iters=` is not given.
const DEFAULT_ITERS: usize = 1000;

/// Parsed arguments.
#[derive(Debug)]
pub struct Args {
    /// Samples to take of each metric.
    pub iters: usize,
    /// Restart-latency mode: warm restarts to sample instead of the other metrics.
    pub restarts: Option<u64>,
}

impl Args {
    /// Parses the app's part of the boot command line; `Err` names the bad word.
    pub fn parse(line: &str) -> Result<Self, &str> {
        let mut args = Args {
            iters: DEFAULT_ITERS,
            restarts: None,
        };
        for word in line.split_ascii_whitespace() {
            match word.split_once('=') {
                Some(("iters", value)) => {
                    args.iters = value.parse().ok().filter(|&n| n > 0).ok_or(word)?;
                }
                Some(("restarts", value)) => {
                    args.restarts = Some(value.parse().ok().filter(|&n| n > 0).ok_or(word)?);
                }
                _ => return Err(word),
            }
        }
        Ok(args)
    }
}
