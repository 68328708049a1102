//! Where the daemon keeps its files (SPEC §3, §7), derived once:
//! `$SV_RUNTIME_DIR/N/{sock,state,logs/NAME-STREAM.log}`.

use super::Sv;
use std::path::PathBuf;

/// The instance directory, `$SV_RUNTIME_DIR/N`.
pub fn instance_dir(sv: &Sv) -> PathBuf {
    sv.runtime.path().join(sv.instance.to_string())
}

/// The control socket of the instance.
pub fn sock_path(sv: &Sv) -> PathBuf {
    instance_dir(sv).join("sock")
}

/// The directory of the automatic logs.
pub fn logs(sv: &Sv) -> PathBuf {
    instance_dir(sv).join("logs")
}

/// The automatic log of one stream (`stdout`, `stderr`) of a service.
pub fn log_path(sv: &Sv, name: &str, stream: &str) -> PathBuf {
    logs(sv).join(format!("{name}-{stream}.log"))
}
