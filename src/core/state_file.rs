//! The instance's `state` file (SPEC §8, §11): what a daemon killed without
//! a clean `close` leaves for the next one, so that nothing runs twice and
//! nothing is forgotten.
//!
//! It records each service's origin (a config program, the `create-service`
//! request that made it, or an adopted pid), its process (pid and the start
//! time from `/proc/PID/stat`, which tells a live process from a reused pid)
//! and the facts its restart rules and `status` need.
//!
//! Its framing is its own, not the wire's: a magic line that carries the
//! format version, the body's length as a u64 and a CRC-32 of the body,
//! then the body (nanoserde binary, bounded decoding). So it holds any
//! number of services of any size, a flipped bit anywhere is refused rather
//! than trusted, and its version moves only when its own layout does. The
//! previous release's file (`sv state\n` and a wire frame) is still read,
//! so an upgrade after a crash re-adopts instead of starting copies.
//!
//! Written the one atomic way: temporary file (never through a symlink),
//! fsync, rename.

use crate::wire::{frame, CreateSpec, List, Text};
use nanoserde::{DeBin, SerBin};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The current format: magic line with its version.
const MAGIC: &[u8] = b"sv state 3\n";
/// Format 2: the same framing, no schedules.
const MAGIC_V2: &[u8] = b"sv state 2\n";
/// The first release's format: this line, then a wire frame.
const MAGIC_V1: &[u8] = b"sv state\n";
/// Magic, body length (u64 LE), CRC-32 of the body (u32 LE).
const HEADER: usize = MAGIC.len() + 8 + 4;

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
    /// Since format 3: the schedules (SPEC §17), by service name.
    pub schedules: List<SavedSchedule>,
}

/// A service's schedule: the expression as armed, and when it was set
/// (what `@every` counts from), in ms since the Unix epoch.
#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct SavedSchedule {
    pub name: Text,
    pub expr: Text,
    pub anchor_unix_ms: u64,
}

/// Format 2: services only.
#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
struct SavedV2 {
    services: List<SavedService>,
}

/// How a process last ended: `kind` 0 none, 1 exit code, 2 signal,
/// 3 unknown; `value` the code or signal.
#[derive(SerBin, DeBin, Debug, Clone, Copy, PartialEq, Default)]
pub struct SavedExit {
    pub kind: u8,
    pub value: i32,
}

/// Why a service is FATAL: `kind` 0 none, 1 spawn error (`text`), 2 exited
/// too quickly, 3 restart limit (`n`).
#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct SavedReason {
    pub kind: u8,
    pub text: Text,
    pub n: u32,
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
    /// Since format 2: what `status` shows of a service that is not running.
    pub last_exit: SavedExit,
    pub reason: SavedReason,
    pub ever_started: bool,
}

/// Format 1, as the first release wrote it.
#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
struct SavedV1 {
    services: List<SavedServiceV1>,
}

#[derive(SerBin, DeBin, Debug, Clone, PartialEq)]
struct SavedServiceV1 {
    name: Text,
    origin: Origin,
    pid: i32,
    start_time: u64,
    state: Text,
    restarts: u32,
    attempts: u32,
    held: bool,
    want: u8,
    due_unix_ms: u64,
}

impl From<SavedServiceV1> for SavedService {
    fn from(s: SavedServiceV1) -> SavedService {
        // Format 1 kept no detail: a service that had run counts as
        // started, so it is not shown as `Not started`.
        let ever_started = s.pid != 0 || !matches!(s.state.0.as_str(), "STOPPED" | "PENDING");
        SavedService {
            name: s.name,
            origin: s.origin,
            pid: s.pid,
            start_time: s.start_time,
            state: s.state,
            restarts: s.restarts,
            attempts: s.attempts,
            held: s.held,
            want: s.want,
            due_unix_ms: s.due_unix_ms,
            last_exit: SavedExit::default(),
            reason: SavedReason::default(),
            ever_started,
        }
    }
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

/// Decodes the bytes of a state file, of this format or the previous one.
pub fn decode(bytes: &[u8]) -> Result<Saved, String> {
    if let Some(rest) = bytes.strip_prefix(MAGIC_V1) {
        return decode_v1(rest);
    }
    let v2 = bytes.starts_with(MAGIC_V2);
    let rest = match bytes
        .strip_prefix(MAGIC)
        .or_else(|| bytes.strip_prefix(MAGIC_V2))
    {
        Some(rest) => rest,
        None if bytes.starts_with(b"sv state ") => {
            return Err("it is of a format this sv does not know (a newer sv wrote it?)".into())
        }
        None => return Err("it does not start like an sv state file".into()),
    };
    if rest.len() < HEADER - MAGIC.len() {
        return Err("it is truncated".into());
    }
    let (len, rest) = rest.split_at(8);
    let (sum, body) = rest.split_at(4);
    let len = u64::from_le_bytes(len.try_into().unwrap_or_default());
    let sum = u32::from_le_bytes(sum.try_into().unwrap_or_default());
    match (body.len() as u64).cmp(&len) {
        std::cmp::Ordering::Less => return Err("it is truncated".into()),
        std::cmp::Ordering::Greater => return Err("it has bytes after its end".into()),
        std::cmp::Ordering::Equal => {}
    }
    if crc32(body) != sum {
        return Err("its checksum does not match (it was damaged)".into());
    }
    if v2 {
        return frame::decode::<SavedV2>(body)
            .map(|v2| Saved {
                services: v2.services,
                ..Default::default()
            })
            .map_err(|e| e.to_string());
    }
    frame::decode::<Saved>(body).map_err(|e| e.to_string())
}

fn decode_v1(rest: &[u8]) -> Result<Saved, String> {
    match frame::split(rest) {
        Ok(Some((body, used))) if used == rest.len() => frame::decode::<SavedV1>(body)
            .map(|v1| Saved {
                services: v1.services.0.into_iter().map(Into::into).collect(),
                ..Default::default()
            })
            .map_err(|e| e.to_string()),
        Ok(Some(_)) => Err("it has bytes after its end".into()),
        Ok(None) => Err("it is truncated".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Encodes a state file.
pub fn encode(saved: &Saved) -> Vec<u8> {
    let body = nanoserde::SerBin::serialize_bin(saved);
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The first release's encoding, for the tests that it is still read.
#[cfg(test)]
fn encode_v1(saved: &Saved) -> Vec<u8> {
    let v1 = SavedV1 {
        services: saved
            .services
            .iter()
            .map(|s| SavedServiceV1 {
                name: s.name.clone(),
                origin: s.origin.clone(),
                pid: s.pid,
                start_time: s.start_time,
                state: s.state.clone(),
                restarts: s.restarts,
                attempts: s.attempts,
                held: s.held,
                want: s.want,
                due_unix_ms: s.due_unix_ms,
            })
            .collect(),
    };
    let mut out = MAGIC_V1.to_vec();
    out.extend_from_slice(&crate::wire::encode(&v1));
    out
}

/// CRC-32 (IEEE 802.3, as zlib), table-driven.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// Writes atomically: a crash leaves either the old file or the new one.
/// The temporary file is made afresh, never opened through a symlink.
pub fn write(path: &Path, saved: &Saved) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let fail = |what: &str, e: io::Error| {
        io::Error::new(e.kind(), format!("cannot {what} {}: {e}", tmp.display()))
    };
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(fail("remove", e)),
        _ => {}
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| fail("create", e))?;
    f.write_all(&encode(saved)).map_err(|e| fail("write", e))?;
    f.sync_all().map_err(|e| fail("fsync", e))?;
    drop(f);
    // No fsync of the directory: a daemon that is killed loses nothing
    // without it, and on every restart it would double the cost.
    fs::rename(&tmp, path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot rename {} to {}: {e}", tmp.display(), path.display()),
        )
    })
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
                    last_exit: SavedExit { kind: 2, value: 9 },
                    reason: SavedReason::default(),
                    ever_started: true,
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
                    last_exit: SavedExit::default(),
                    reason: SavedReason {
                        kind: 1,
                        text: "spawn error: No such file or directory".into(),
                        n: 0,
                    },
                    ever_started: false,
                },
            ]
            .into(),
            schedules: vec![SavedSchedule {
                name: "sleep".into(),
                expr: "@every 1h30m".into(),
                anchor_unix_ms: 1_700_000_000_000,
            }]
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
        other_version[MAGIC.len() - 2] = b'9';
        assert!(decode(&other_version).unwrap_err().contains("format"));
        // One flipped bit anywhere in the body is caught by the checksum.
        for i in HEADER..good.len() {
            let mut flipped = good.clone();
            flipped[i] ^= 0x01;
            assert!(
                decode(&flipped).unwrap_err().contains("checksum"),
                "byte {i}"
            );
        }
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

    #[test]
    fn the_previous_format_is_still_read() {
        let old = encode_v1(&sample());
        assert!(old.starts_with(b"sv state\n"));
        let read = decode(&old).unwrap();
        assert_eq!(read.services.len(), 2);
        assert_eq!(read.services[0].pid, 1234);
        assert_eq!(read.services[0].start_time, 987_654);
        assert!(read.services[0].ever_started);
        assert_eq!(read.services[1].due_unix_ms, 1_800_000_000_000);
        assert!(!read.services[1].ever_started);
        assert_eq!(read.services[1].origin, sample().services[1].origin);
    }

    #[test]
    fn a_file_far_over_the_frame_limit_round_trips() {
        let one = sample().services[0].clone();
        let services: Vec<SavedService> = (0..10_000)
            .map(|i| SavedService {
                name: format!("{i:0>40}").into(),
                ..one.clone()
            })
            .collect();
        let big = Saved {
            services: services.into(),
            ..Default::default()
        };
        let bytes = encode(&big);
        assert!(bytes.len() > crate::wire::MAX_FRAME, "{}", bytes.len());
        assert_eq!(decode(&bytes), Ok(big));
    }

    /// Format 2 (before schedules) is still read: its services, no
    /// schedules.
    #[test]
    fn format_2_is_still_read() {
        let v2 = SavedV2 {
            services: sample().services,
        };
        let body = nanoserde::SerBin::serialize_bin(&v2);
        let mut old = MAGIC_V2.to_vec();
        old.extend_from_slice(&(body.len() as u64).to_le_bytes());
        old.extend_from_slice(&crc32(&body).to_le_bytes());
        old.extend_from_slice(&body);
        let read = decode(&old).unwrap();
        assert_eq!(read.services, sample().services);
        assert!(read.schedules.is_empty());
        assert_eq!(decode(&encode(&sample())), Ok(sample()));
    }

    #[test]
    fn crc32_is_the_usual_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
