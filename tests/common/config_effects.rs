//! Helpers of the spec_5_config_effects_* files: their instance, a daemon on
//! a config with an environment of its own, and a file the child writes.
use super::*;
use std::path::Path;

/// The instance of every daemon these files start.
pub const N: u8 = 5;

/// Starts the daemon of `sv` on `conf` (written to `work/sv.conf`), with
/// `env` added to its environment.
pub fn launch(mut sv: Sv, conf: &str, env: &[(&str, &str)]) -> Sv {
    let mut c = sv.config_daemon(conf);
    for (k, v) in env {
        c.env(k, v);
    }
    sv.launch(c);
    sv
}

pub fn start(conf: &str) -> Sv {
    launch(Sv::new(N), conf, &[])
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until `path` holds `want` exactly.
#[track_caller]
pub fn wait_file(path: &Path, want: &str) {
    let ok = wait_until(10, || read(path) == want);
    assert!(
        ok,
        "{} holds {:?}, not {want:?}",
        path.display(),
        read(path)
    );
}
