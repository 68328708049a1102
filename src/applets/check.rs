//! `sv check -c FILE`: reads a config exactly as the daemon would (the same
//! parser) and says what would run, starting nothing (SPEC §3); then the
//! warnings: the parser's, and what would fail at run time (a command not
//! found, a user or a log directory that does not exist). `--strict` makes
//! any warning exit 1, for CI.

use super::cli::parse;
use super::exit::{self, Stop};
use super::print_stdout;
use crate::core::config;
use crate::core::names;
use crate::core::spec::join_words;
use argh::FromArgs;
use std::ffi::OsString;

/// Read a config file as the daemon would, starting nothing.
#[derive(FromArgs)]
struct CheckArgs {
    /// the config file
    #[argh(option, short = 'c')]
    config: String,
    /// exit 1 if there is any warning (for CI)
    #[argh(switch)]
    strict: bool,
}

pub fn main(args: Vec<OsString>) -> exit::Result {
    let a: CheckArgs = parse(&args)?;
    match config::load(std::path::Path::new(&a.config)) {
        Ok(cfg) => {
            let procs: Vec<_> = cfg.programs.iter().flat_map(|p| &p.processes).collect();
            // As `status` will show them (`GROUP:NAME`).
            let shown: Vec<String> = (procs.iter())
                .map(|s| names::display(&s.name, s.program.as_deref(), s.group.as_deref()))
                .collect();
            let width = shown.iter().map(|n| n.chars().count()).max().unwrap_or(0);
            let mut out = String::new();
            for (s, name) in procs.iter().zip(&shown) {
                out.push_str(&format!("{name:<width$}  {}\n", join_words(&s.argv)));
            }
            let path = std::env::var("PATH").ok();
            let late = config::runtime_warnings(&cfg, path.as_deref());
            let warnings = cfg.warnings.len() + late.len();
            for w in cfg.warnings.iter().chain(&late) {
                out.push_str(&format!("warning: {w}\n"));
            }
            print_stdout(&out);
            if a.strict && warnings > 0 {
                let s = if warnings == 1 { "" } else { "s" };
                return Err(Stop::failed(format!(
                    "error: {warnings} warning{s}, and --strict makes warnings errors"
                )));
            }
            Ok(())
        }
        Err(e) => Err(Stop::failed(format!("error: {e}"))),
    }
}
