//! Where an instance keeps its files (SPEC §2): `RUNTIME/N/{sock,lock,state,logs/,fifo/}`.

use super::trust::Trust;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Highest instance number.
pub const MAX_INSTANCE: u8 = 99;

/// `$SV_RUNTIME_DIR`, else `/run/sv` for root, else `$XDG_RUNTIME_DIR/sv`,
/// else `/tmp/sv-UID`.
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SV_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let uid = super::sys::getuid();
    if uid == 0 {
        return PathBuf::from("/run/sv");
    }
    if let Some(xdg) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Path::new(&xdg).join("sv");
    }
    PathBuf::from(format!("/tmp/sv-{uid}"))
}

/// The files of one instance.
#[derive(Debug, Clone)]
pub struct InstancePaths {
    pub instance: u8,
    pub dir: PathBuf,
}

impl InstancePaths {
    pub fn new(instance: u8) -> InstancePaths {
        InstancePaths::under(&runtime_dir(), instance)
    }

    pub fn under(runtime: &Path, instance: u8) -> InstancePaths {
        InstancePaths {
            instance,
            dir: runtime.join(instance.to_string()),
        }
    }

    pub fn sock(&self) -> PathBuf {
        self.dir.join("sock")
    }
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }
    /// Named pipes carrying children's output (see `output::open_fifo`).
    pub fn fifos(&self) -> PathBuf {
        self.dir.join("fifo")
    }

    /// Creates the runtime, instance, logs and fifo directories, mode 0700,
    /// and refuses any of them that another uid owns or could write (SPEC
    /// §2): such a directory is where that user plants symlinks at `lock`,
    /// `state.tmp` or a log, or swaps the socket. Nothing is chmodded that
    /// we do not own.
    pub fn create(&self) -> io::Result<()> {
        let trust = Trust::daemon();
        let runtime = self.dir.parent().unwrap_or(&self.dir);
        make_private_dir(&trust, runtime, true)?;
        for dir in [&self.dir, &self.logs(), &self.fifos()] {
            make_private_dir(&trust, dir, false)?;
        }
        Ok(())
    }

    /// The client's check before it connects: the runtime and instance
    /// directories must be trusted (see [`Trust::check_dir`]).
    pub fn check(&self, trust: &Trust) -> io::Result<()> {
        trust.check_dir(self.dir.parent().unwrap_or(&self.dir))?;
        trust.check_dir(&self.dir).map(drop)
    }
}

/// Makes `dir` (its parents too with `parents`) and checks it. One we own
/// that others may read is tightened to 0700; one they may write is refused,
/// since they may have planted something in it already.
fn make_private_dir(trust: &Trust, dir: &Path, parents: bool) -> io::Result<()> {
    let made = DirBuilder::new().recursive(parents).mode(0o700).create(dir);
    match made {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", dir.display()),
            ))
        }
    }
    let meta = trust.check_dir(dir)?;
    if meta.uid() == trust.me && meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot chmod 0700 {}: {e}", dir.display()),
            )
        })?;
    }
    Ok(())
}

/// Parses an instance number, 0..=99.
pub fn parse_instance(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(n) if n <= MAX_INSTANCE => Ok(n),
        _ => Err(format!("instance must be a number from 0 to 99, not '{s}'")),
    }
}

/// `$SV_INSTANCE`, else 0.
pub fn default_instance() -> Result<u8, String> {
    match std::env::var("SV_INSTANCE") {
        Ok(s) if !s.is_empty() => parse_instance(&s).map_err(|e| format!("SV_INSTANCE: {e}")),
        _ => Ok(0),
    }
}
