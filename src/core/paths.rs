//! Where an instance keeps its files (SPEC §2): `RUNTIME/N/{sock,lock,state,logs/}`.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
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
    /// Named pipes carrying children's output (see `output::Fifo`).
    pub fn fifos(&self) -> PathBuf {
        self.dir.join("fifo")
    }

    /// Creates the runtime, instance, logs and fifo directories, mode 0700.
    pub fn create(&self) -> io::Result<()> {
        for dir in [
            self.dir.parent().unwrap_or(&self.dir),
            &self.dir,
            &self.logs(),
            &self.fifos(),
        ] {
            make_private_dir(dir)?;
        }
        Ok(())
    }
}

fn make_private_dir(dir: &Path) -> io::Result<()> {
    match DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", dir.display()),
            ))
        }
    }
    // An existing directory keeps its mode from before; tighten it.
    let meta = fs::metadata(dir)?;
    if meta.permissions().mode() & 0o077 != 0 {
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
