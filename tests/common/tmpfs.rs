//! A small tmpfs for tests of a full disk.

use super::skip;
use std::path::PathBuf;

/// A small tmpfs, lazily unmounted on drop (also when the test fails
/// while the daemon still holds a file in it).
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    /// None (with the reason printed) when mounting is not permitted.
    pub fn mount(at: PathBuf, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(&at).ok()?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(at)),
            Ok(o) => {
                let why = String::from_utf8_lossy(&o.stderr);
                skip(&format!("cannot mount a tmpfs: {}", why.trim()));
                None
            }
            Err(e) => {
                skip(&format!("cannot run mount: {e}"));
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}
