//! The app's arguments: `scenario=NAME [cpu=N|last] [k=K] [window_us=W] [status=S]`.

use core::fmt;

use wire::split::words;

/// Which CPU a scenario acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cpu {
    /// This index.
    Index(usize),
    /// The highest index.
    Last,
}

impl Cpu {
    /// The index, given the CPU count.
    pub fn resolve(self, cpus: usize) -> usize {
        match self {
            Cpu::Index(i) => i.min(cpus - 1),
            Cpu::Last => cpus - 1,
        }
    }
}

/// Parsed arguments; absent ones are `None`.
#[derive(Debug)]
pub struct Args<'a> {
    /// `scenario=`.
    pub scenario: &'a str,
    /// `cpu=`.
    pub cpu: Option<Cpu>,
    /// `k=`.
    pub k: Option<usize>,
    /// `window_us=`.
    pub window_us: Option<u64>,
    /// `status=`.
    pub status: Option<u32>,
}

/// What is wrong with the arguments.
pub enum ArgError<'a> {
    /// No `scenario=`.
    NoScenario,
    /// A word that is not one of ours, or a value that does not parse.
    Bad(&'a str),
}

impl fmt::Display for ArgError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::NoScenario => f.write_str("say which scenario: -- scenario=NAME"),
            ArgError::Bad(word) => write!(f, "bad argument '{word}'"),
        }
    }
}

impl<'a> Args<'a> {
    /// Parses the app's part of the boot command line.
    pub fn parse(line: &'a str) -> Result<Self, ArgError<'a>> {
        let mut args = Args {
            scenario: "",
            cpu: None,
            k: None,
            window_us: None,
            status: None,
        };
        for word in words(line) {
            let bad = || ArgError::Bad(word.text);
            let (key, value) = word.pair().map_err(|_| bad())?;
            match key {
                "scenario" => args.scenario = value,
                "cpu" if value == "last" => args.cpu = Some(Cpu::Last),
                "cpu" => args.cpu = Some(Cpu::Index(value.parse().map_err(|_| bad())?)),
                "k" => args.k = Some(value.parse().map_err(|_| bad())?),
                "window_us" => args.window_us = Some(value.parse().map_err(|_| bad())?),
                "status" => args.status = Some(value.parse().map_err(|_| bad())?),
                _ => return Err(bad()),
            }
        }
        if args.scenario.is_empty() {
            return Err(ArgError::NoScenario);
        }
        Ok(args)
    }
}
