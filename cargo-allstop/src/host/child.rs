//! Child processes under supervision: every child gets a hard timeout, its output is captured
//! (and echoed live when asked), and it is killed by PID when the timeout expires, when the
//! caller returns early, or when xtask itself receives SIGINT, SIGTERM or SIGHUP.

use std::io::{self, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use shared_child::SharedChild;

/// Exit code of xtask when a signal interrupted it (the shell's convention for SIGINT).
const EXIT_INTERRUPTED: i32 = 130;

/// Children that are running right now, so that a signal handler can kill them.
static LIVE: Mutex<Vec<Arc<SharedChild>>> = Mutex::new(Vec::new());

/// Text to append to one line of a child's stdout before it is echoed (`None`: leave it as is).
pub type Annotate<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// Shown the child's stdout so far after each read; the first time it returns bytes, they are
/// written to the child's stdin (a prompt answered), and it is not asked again.
pub type Answer<'a> = &'a (dyn Fn(&str) -> Option<Vec<u8>> + Sync);

/// Which of the child's output streams are copied to ours while it runs (all are captured).
#[derive(Clone, Copy)]
pub enum Echo<'a> {
    /// Both stdout and stderr.
    All,
    /// Both, stdout a whole line at a time with the annotation appended (the captured stdout
    /// stays as the child wrote it).
    Annotated(Annotate<'a>),
    /// Only stderr; stdout's lines still go through the annotation, whose result is dropped
    /// (a caller that watches for lines as they come, but shows none).
    Watched(Annotate<'a>),
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
    /// Whether the child's stderr was already shown to the user.
    pub stderr_shown: bool,
    /// Whether the child was killed because its stderr showed the `stop_on` text of
    /// [`run_until`].
    pub stopped_on_stderr: bool,
}

impl Finished {
    /// `self` if the child exited with status 0, else an error naming what happened.
    pub fn success(self) -> Result<Self> {
        match self.status {
            Some(status) if status.success() => Ok(self),
            Some(status) if self.stderr_shown => bail!("{status}"),
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
    run_until(cmd, timeout, echo, None)
}

/// How long a child whose stderr showed the `stop_on` text of [`run_until`] may go on writing
/// (the rest of its report) before it is killed.
const STOP_ON_STDERR_GRACE: Duration = Duration::from_millis(300);

/// [`run`], and kills the child early (after [`STOP_ON_STDERR_GRACE`]) once its stderr
/// contains `stop_on`: for a child that would otherwise sit out its timeout after a failure it
/// reports there.
pub fn run_until(
    cmd: &mut Command,
    timeout: Duration,
    echo: Echo,
    stop_on: Option<&str>,
) -> Result<Finished> {
    supervise(cmd, timeout, echo, stop_on, None)
}

/// [`run_until`], with the child's stdin a pipe that `answer` writes to once (see [`Answer`]);
/// stdin is closed after the answer.
pub fn run_answering(
    cmd: &mut Command,
    timeout: Duration,
    echo: Echo,
    stop_on: Option<&str>,
    answer: Answer<'_>,
) -> Result<Finished> {
    supervise(cmd, timeout, echo, stop_on, Some(answer))
}

fn supervise(
    cmd: &mut Command,
    timeout: Duration,
    echo: Echo,
    stop_on: Option<&str>,
    answer: Option<Answer<'_>>,
) -> Result<Finished> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let stdin = if answer.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let stdout = child.stdout.take().context("child stdout was not piped")?;
    let stderr = child.stderr.take().context("child stderr was not piped")?;
    let stdin = Mutex::new(child.stdin.take());
    let child = Registered::new(SharedChild::new(child)?);
    let answer_stdout = |all: &[u8]| {
        let Some(answer) = answer else { return };
        let mut stdin = stdin.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(pipe) = stdin.as_mut() else { return };
        if let Some(bytes) = answer(&String::from_utf8_lossy(all)) {
            // A child that is gone no longer needs its answer.
            let _ = pipe.write_all(&bytes).and_then(|()| pipe.flush());
            *stdin = None;
        }
    };

    let stopped_on_stderr = AtomicBool::new(false);
    let watch = |all: &[u8]| {
        let Some(text) = stop_on else { return };
        if !stopped_on_stderr.load(Ordering::Relaxed)
            && all.windows(text.len()).any(|w| w == text.as_bytes())
        {
            stopped_on_stderr.store(true, Ordering::Relaxed);
            thread::sleep(STOP_ON_STDERR_GRACE);
            // It may have exited meanwhile; the wait below reaps it either way.
            let _ = child.0.kill();
        }
    };
    thread::scope(|scope| {
        let (out_echo, stderr_shown) = match echo {
            Echo::All => (Some(Sink::new(None)), true),
            Echo::Annotated(annotate) => (Some(Sink::new(Some(annotate))), true),
            Echo::Watched(annotate) => (Some(Sink::watching(annotate)), true),
            Echo::Stderr => (None, true),
            Echo::Nothing => (None, false),
        };
        let err_echo = stderr_shown.then(|| Sink::new(None));
        let out = scope.spawn(|| {
            pump(
                stdout,
                out_echo.map(|sink| (sink, io::stdout())),
                answer_stdout,
            )
        });
        let err = scope.spawn(|| pump(stderr, err_echo.map(|sink| (sink, io::stderr())), watch));
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
            stderr_shown,
            stopped_on_stderr: stopped_on_stderr.load(Ordering::Relaxed),
        })
    })
}

/// Copies `from` until end of file into a string, echoing what arrives through the sink to
/// `echo`'s writer, and showing `watch` everything read so far after each read.
fn pump(
    mut from: impl Read,
    mut echo: Option<(Sink<'_>, impl Write)>,
    watch: impl Fn(&[u8]),
) -> Result<String> {
    let mut all = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("cannot read child output"),
        };
        if let Some((sink, out)) = echo.as_mut() {
            let shown = sink.take(&buf[..n]);
            if sink.shown {
                // Our own stdout closing (e.g. piped into `head`) must not stop the capture.
                let _ = out.write_all(&shown).and_then(|()| out.flush());
            }
        }
        all.extend_from_slice(&buf[..n]);
        watch(&all);
    }
    if let Some((sink, out)) = echo.as_mut().filter(|(sink, _)| sink.shown) {
        let _ = out.write_all(&sink.finish()).and_then(|()| out.flush());
    }
    Ok(String::from_utf8_lossy(&all).into_owned())
}

/// Turns chunks of a child's output into what is echoed: the chunks themselves, or with an
/// annotator, whole lines with their annotations (an unfinished line waits for its end).
struct Sink<'a> {
    annotate: Option<Annotate<'a>>,
    pending: Vec<u8>,
    /// Whether what it gives is written out ([`Echo::Watched`] only annotates).
    shown: bool,
}

impl<'a> Sink<'a> {
    fn new(annotate: Option<Annotate<'a>>) -> Self {
        Sink {
            annotate,
            pending: Vec::new(),
            shown: true,
        }
    }

    /// A sink that only calls `annotate` on each line.
    fn watching(annotate: Annotate<'a>) -> Self {
        Sink {
            shown: false,
            ..Sink::new(Some(annotate))
        }
    }

    /// What to echo now that `chunk` arrived.
    fn take(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(annotate) = self.annotate else {
            return chunk.to_vec();
        };
        self.pending.extend_from_slice(chunk);
        let Some(last_newline) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let rest = self.pending.split_off(last_newline + 1);
        let lines = std::mem::replace(&mut self.pending, rest);
        let mut echo = Vec::with_capacity(lines.len());
        for line in lines.split_inclusive(|&b| b == b'\n') {
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            match annotate(&String::from_utf8_lossy(body)) {
                Some(note) => {
                    echo.extend_from_slice(body);
                    echo.extend_from_slice(note.as_bytes());
                    echo.push(b'\n');
                }
                None => echo.extend_from_slice(line),
            }
        }
        echo
    }

    /// What is left to echo at end of file: an unfinished last line, as it is.
    fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }
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
    fn stops_a_child_whose_stderr_shows_the_text_and_keeps_what_follows() {
        let script = "echo booted; echo 'KVM internal error' >&2; echo 'RIP=1' >&2; exec sleep 60";
        let run = |timeout, stop_on| {
            run_until(
                Command::new("sh").args(["-c", script]),
                timeout,
                Echo::Nothing,
                Some(stop_on),
            )
            .unwrap()
        };
        let done = run(Duration::from_secs(30), "internal error");
        assert!(done.stopped_on_stderr);
        assert!(done.elapsed < Duration::from_secs(10), "{:?}", done.elapsed);
        assert_eq!(done.stderr, "KVM internal error\nRIP=1\n");
        // Without the text, the same child runs into its timeout.
        let done = run(Duration::from_millis(500), "no such text");
        assert!(!done.stopped_on_stderr && done.status.is_none());
    }

    #[test]
    fn answers_a_prompt_once_on_stdin() {
        let script = "echo ready; read line; echo \"got $line\"; echo ready; read other; \
                      echo \"then '$other'\"";
        let answer = |out: &str| out.contains("ready").then(|| b"yes\n".to_vec());
        let done = run_answering(
            Command::new("sh").args(["-c", script]),
            Duration::from_secs(30),
            Echo::Nothing,
            None,
            &answer,
        )
        .unwrap();
        // The second prompt is not answered: stdin is closed after the first answer.
        assert_eq!(done.stdout, "ready\ngot yes\nready\nthen ''\n");
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
    fn an_annotated_echo_appends_to_whole_lines_only() {
        let annotate = |line: &str| line.starts_with("bt").then(|| format!(" <{line}>"));
        let mut sink = Sink::new(Some(&annotate));
        assert_eq!(sink.take(b"one\nbt"), b"one\n");
        assert_eq!(sink.take(b" 1\r\nbt 2\ntwo"), b"bt 1 <bt 1>\nbt 2 <bt 2>\n");
        assert_eq!(sink.take(b" and a half"), b"");
        assert_eq!(sink.finish(), b"two and a half");
        let mut plain = Sink::new(None);
        assert_eq!(plain.take(b"bt 3"), b"bt 3");
        assert_eq!(plain.finish(), b"");
    }

    #[test]
    fn tail_keeps_the_last_lines_without_carriage_returns() {
        assert_eq!(tail("a\r\nb\r\nc\r\n", 2), "    | b\n    | c\n");
        assert_eq!(tail("", 3), "");
    }
}
