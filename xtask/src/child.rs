//! Child processes under supervision: every child gets a hard timeout, its output is captured
//! (and echoed live when asked), and it is killed by PID when the timeout expires, when the
//! caller returns early, or when xtask itself receives SIGINT, SIGTERM or SIGHUP.

use std::io::{self, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use shared_child::SharedChild;

/// Exit code of xtask when a signal interrupted it (the shell's convention for SIGINT).
const EXIT_INTERRUPTED: i32 = 130;

/// Children that are running right now, so that a signal handler can kill them.
static LIVE: Mutex<Vec<Arc<SharedChild>>> = Mutex::new(Vec::new());

/// Which of the child's output streams are copied to ours while it runs (all are captured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    /// Both stdout and stderr.
    All,
    /// Only stderr (stdout is machine-readable and parsed by the caller).
    Stderr,
    /// Neither (output is reported later, e.g. by a parallel test runner).
    Nothing,
}

/// A child process that has ended, by itself or killed at its timeout.
#[derive(Debug)]
pub struct Finished {
    /// The child's process ID (already reaped: it names a process that no longer exists).
    pub pid: u32,
    /// The exit status, or `None` when the timeout expired and the child was killed.
    pub status: Option<ExitStatus>,
    /// Everything the child wrote to stdout.
    pub stdout: String,
    /// Everything the child wrote to stderr.
    pub stderr: String,
    /// Wall-clock time from spawn to exit (or kill).
    pub elapsed: Duration,
    /// Which streams were already shown to the user.
    pub echo: Echo,
}

impl Finished {
    /// `self` if the child exited with status 0, else an error naming what happened.
    pub fn success(self) -> Result<Self> {
        match self.status {
            Some(status) if status.success() => Ok(self),
            Some(status) if self.echo != Echo::Nothing => bail!("{status}"),
            Some(status) => bail!(
                "{status}; its stderr ended with:\n{}",
                tail(&self.stderr, 20)
            ),
            None => bail!("timed out after {:.0?}", self.elapsed),
        }
    }
}

/// The last `n` lines of `text` (carriage returns dropped), each indented for a report.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..]
        .iter()
        .map(|line| format!("    | {}\n", line.trim_end_matches('\r')))
        .collect()
}

/// Installs the handler that kills every live child when xtask gets SIGINT, SIGTERM or SIGHUP.
pub fn kill_children_on_signal() -> Result<()> {
    ctrlc::set_handler(|| {
        let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        for child in live.iter() {
            // Best effort: the child may have exited between the signal and this kill. Reaping
            // it means it is really gone when xtask exits.
            let _ = child.kill();
            let _ = child.wait();
        }
        eprintln!(
            "\nxtask: interrupted; killed {} child process(es)",
            live.len()
        );
        std::process::exit(EXIT_INTERRUPTED);
    })
    .context("cannot install the SIGINT/SIGTERM handler")
}

/// Runs `cmd` with stdin closed, captures its output, and kills it after `timeout`.
///
/// A program that cannot be started is an error whose source is the `io::Error` (so callers can
/// recognise `NotFound`).
pub fn run(cmd: &mut Command, timeout: Duration, echo: Echo) -> Result<Finished> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let stdout = child.stdout.take().context("child stdout was not piped")?;
    let stderr = child.stderr.take().context("child stderr was not piped")?;
    let child = Registered::new(SharedChild::new(child)?);

    thread::scope(|scope| {
        let out = scope.spawn(|| pump(stdout, (echo == Echo::All).then(io::stdout)));
        let err = scope.spawn(|| pump(stderr, (echo != Echo::Nothing).then(io::stderr)));
        let status = child.0.wait_timeout(timeout)?;
        if status.is_none() {
            child.0.kill()?;
            child.0.wait()?;
        }
        let elapsed = started.elapsed();
        let stdout = out.join().expect("stdout reader panicked")?;
        let stderr = err.join().expect("stderr reader panicked")?;
        Ok(Finished {
            pid: child.0.id(),
            status,
            stdout,
            stderr,
            elapsed,
            echo,
        })
    })
}

/// Copies `from` until end of file into a string, echoing each chunk to `echo` as it arrives.
fn pump(mut from: impl Read, mut echo: Option<impl Write>) -> Result<String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("cannot read child output"),
        };
        if let Some(out) = echo.as_mut() {
            // Our own stdout closing (e.g. piped into `head`) must not stop the capture.
            let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
        }
        all.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&all).into_owned())
}

/// A child listed in [`LIVE`]; dropping it kills (if still running), reaps and unlists it.
struct Registered(Arc<SharedChild>);

impl Registered {
    fn new(child: SharedChild) -> Self {
        let child = Arc::new(child);
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&child));
        Registered(child)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Both are no-ops for a child that was already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|c| !Arc::ptr_eq(c, &self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a shell script under supervision, output not echoed.
    fn sh(script: &str, timeout: Duration) -> Finished {
        run(
            Command::new("sh").args(["-c", script]),
            timeout,
            Echo::Nothing,
        )
        .unwrap()
    }

    #[test]
    fn captures_both_streams_and_the_status() {
        let done = sh("echo out; echo err >&2; exit 3", Duration::from_secs(30));
        assert_eq!(done.status.unwrap().code(), Some(3));
        assert_eq!(done.stdout, "out\n");
        assert_eq!(done.stderr, "err\n");
        let err = done.success().unwrap_err().to_string();
        assert!(
            err.contains("exit status: 3") && err.contains("| err"),
            "{err}"
        );
    }

    #[test]
    fn kills_a_child_at_its_timeout_and_keeps_its_output() {
        let done = sh("echo booted; exec sleep 60", Duration::from_millis(300));
        assert!(done.status.is_none(), "the child must count as timed out");
        assert_eq!(done.stdout, "booted\n");
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", done.pid)).unwrap_or_default();
        assert!(
            !cmdline.starts_with(b"sleep"),
            "the killed child is still running"
        );
    }

    #[test]
    fn a_missing_program_is_a_not_found_error() {
        let err = run(
            &mut Command::new("/nonexistent/allstop-xtask-test"),
            Duration::from_secs(5),
            Echo::Nothing,
        )
        .unwrap_err();
        let io = err.downcast_ref::<io::Error>().expect("io::Error source");
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn tail_keeps_the_last_lines_without_carriage_returns() {
        assert_eq!(tail("a\r\nb\r\nc\r\n", 2), "    | b\n    | c\n");
        assert_eq!(tail("", 3), "");
    }
}
