//! sv: one binary, many applets. See `sv::applets` for the dispatch.

use std::process::ExitCode;

fn main() -> ExitCode {
    sv::applets::run(std::env::args_os().collect())
}
