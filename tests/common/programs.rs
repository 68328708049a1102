//! Helpers of the spec_4_2_programs_* files: their instance, a daemon of its
//! own on a config, the rows and names `sv status` shows, a sleeping program.
use super::*;

/// The instance of every daemon these files start.
pub const N: u8 = 7;

/// A daemon of its own running `conf`.
pub fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv
}

/// `(NAME, STATE)` of every row of `sv status`.
pub fn rows(sv: &Sv) -> Vec<(String, String)> {
    let r = sv.sv(&["status"]);
    r.ok()
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            (
                w.next().unwrap_or("").to_string(),
                w.next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

pub fn names(sv: &Sv) -> Vec<String> {
    rows(sv).into_iter().map(|(n, _)| n).collect()
}

/// A program that sleeps, with startsecs=0.
pub fn sleeper(name: &str, extra: &str) -> String {
    format!("[program:{name}]\ncommand=/bin/sleep 60\nstartsecs=0\n{extra}\n")
}
