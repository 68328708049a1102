//! The instance's `state` file (SPEC §8): what a daemon killed without a
//! clean `close` leaves for the next one, so that nothing runs twice and
//! nothing is forgotten.
//!
//! It records each service's origin (a config program, the `create-service`
//! request that made it, or an adopted pid), its process (pid and the start
//! time from `/proc/PID/stat`, which tells a live process from a reused pid)
//! and the facts its restart rules need. It is encoded like a wire frame
//! (bounded decoding, version byte) behind a magic line, and written the one
//! atomic way: temporary file, fsync, rename.

use crate::wire::{self, frame, CreateSpec, List, Text};
use nanoserde::{DeBin, SerBin};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"sv state\n";

/// Where a service came from, so a new daemon can rebuild it. Append-only.
#[derive(SerBin, DeBin, Debug, Clone, PartialEq)]
pub enum Origin {
    /// `[program:NAME]` of the config file.
    Config(Text),
    /// The `create-service` request, with its name filled in.
    AdHoc(CreateSpec),
    /// `open-service`.
    Adopted,
}

#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct Saved {
    pub services: List<SavedService>,
}

#[derive(SerBin, DeBin, Debug, Clone, PartialEq)]
pub struct SavedService {
    pub name: Text,
    pub origin: Origin,
    /// 0: no process.
    pub pid: i32,
    /// Field 22 of /proc/PID/stat when it was started or adopted.
    pub start_time: u64,
    /// `State::name()`.
    pub state: Text,
    pub restarts: u32,
    pub attempts: u32,
    /// Stopped by a command.
    pub held: bool,
    /// `Want` as 0 up, 1 down, 2 gone.
    pub want: u8,
    /// PENDING or BACKOFF: when it is due, in ms since the Unix epoch.
    pub due_unix_ms: u64,
}

/// Reads the state file. `Ok(None)`: there is none (a clean start). `Err`:
/// it is there but unusable (corrupt, truncated, another version).
pub fn read(path: &Path) -> Result<Option<Saved>, String> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    decode(&bytes).map(Some)
}

/// Decodes the bytes of a state file.
pub fn decode(bytes: &[u8]) -> Result<Saved, String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("it does not start like an sv state file")?;
    match frame::split(rest) {
        Ok(Some((body, used))) if used == rest.len() => {
            frame::decode::<Saved>(body).map_err(|e| e.to_string())
        }
        Ok(Some(_)) => Err("it has bytes after its end".into()),
        Ok(None) => Err("it is truncated".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Encodes a state file.
pub fn encode(saved: &Saved) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&wire::encode(saved));
    out
}

/// Writes atomically: a crash leaves either the old file or the new one.
pub fn write(path: &Path, saved: &Saved) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(&encode(saved))?;
    f.sync_all()?;
    drop(f);
    // No fsync of the directory: a daemon that is killed loses nothing
    // without it, and on every restart it would double the cost.
    fs::rename(&tmp, path)
}

/// Moves an unusable state file aside (never silently dropped) and
/// returns where it went.
pub fn set_aside(path: &Path) -> io::Result<PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aside = path.with_extension(format!("bad-{secs}"));
    fs::rename(path, &aside)?;
    Ok(aside)
}

/// Removes the state file: a clean close leaves nothing to recover.
pub fn clear(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Saved {
        Saved {
            services: vec![
                SavedService {
                    name: "web".into(),
                    origin: Origin::Config("web".into()),
                    pid: 1234,
                    start_time: 987_654,
                    state: "RUNNING".into(),
                    restarts: 2,
                    attempts: 0,
                    held: false,
                    want: 0,
                    due_unix_ms: 0,
                },
                SavedService {
                    name: "sleep".into(),
                    origin: Origin::AdHoc(CreateSpec {
                        argv: vec![Text::from("/bin/sleep"), Text::from("60")].into(),
                        name: Some("sleep".into()),
                        restarts: Some(3),
                        ..Default::default()
                    }),
                    pid: 0,
                    start_time: 0,
                    state: "PENDING".into(),
                    restarts: 0,
                    attempts: 0,
                    held: true,
                    want: 1,
                    due_unix_ms: 1_800_000_000_000,
                },
            ]
            .into(),
        }
    }

    #[test]
    fn round_trip_through_a_file() {
        let dir = std::env::temp_dir().join(format!("sv-state-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state");
        assert_eq!(read(&path), Ok(None));
        write(&path, &sample()).unwrap();
        assert_eq!(read(&path), Ok(Some(sample())));
        assert!(!path.with_extension("tmp").exists());
        clear(&path).unwrap();
        assert_eq!(read(&path), Ok(None));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_files_are_refused_with_a_reason() {
        let good = encode(&sample());
        assert!(decode(b"hello").unwrap_err().contains("sv state file"));
        assert!(decode(&good[..good.len() - 3])
            .unwrap_err()
            .contains("truncated"));
        let mut long = good.clone();
        long.push(0);
        assert!(decode(&long).unwrap_err().contains("after its end"));
        let mut other_version = good.clone();
        other_version[MAGIC.len() + 4] = 99;
        assert!(decode(&other_version).unwrap_err().contains("version"));
        // Every cut and every flipped byte gives an answer, never a panic.
        for i in 0..good.len() {
            let _ = decode(&good[..i]);
            let mut flipped = good.clone();
            flipped[i] ^= 0x5a;
            let _ = decode(&flipped);
        }
    }

    #[test]
    fn set_aside_keeps_the_bytes() {
        let dir = std::env::temp_dir().join(format!("sv-state-aside-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state");
        fs::write(&path, b"garbage").unwrap();
        let aside = set_aside(&path).unwrap();
        assert!(!path.exists());
        assert_eq!(fs::read(&aside).unwrap(), b"garbage");
        fs::remove_dir_all(&dir).unwrap();
    }
}
