//! `sv check -c FILE`: reads a config exactly as the daemon would (the same
//! parser) and says what would run, starting nothing (SPEC §3).

use super::cli::parse;
use super::{print_stdout, Exit};
use crate::core::config;
use crate::core::spec::join_words;
use argh::FromArgs;
use std::ffi::OsString;
use std::process::ExitCode;

/// Read a config file as the daemon would, starting nothing.
#[derive(FromArgs)]
struct CheckArgs {
    /// the config file
    #[argh(option, short = 'c')]
    config: String,
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let a: CheckArgs = match parse(&args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match config::load(std::path::Path::new(&a.config)) {
        Ok(cfg) => {
            let procs: Vec<_> = cfg.programs.iter().flat_map(|p| &p.processes).collect();
            let width = procs.iter().map(|s| s.name.len()).max().unwrap_or(0);
            let mut out = String::new();
            for s in procs {
                out.push_str(&format!("{:<width$}  {}\n", s.name, join_words(&s.argv)));
            }
            print_stdout(&out);
            for w in &cfg.warnings {
                print_stdout(&format!("warning: {w}\n"));
            }
            Exit::Ok.into()
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failed.into()
        }
    }
}
