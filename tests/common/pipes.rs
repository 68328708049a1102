//! A child's output read on a thread, so the child never blocks on a full
//! pipe and the test can wait for what it needs with a deadline.

use std::io::Read;
use std::process::Child;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Reads a child's stdout on a thread, chunk by chunk, until it ends.
pub fn chunks_of(child: &mut Child) -> Receiver<Vec<u8>> {
    let mut out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Adds what `rx` gives to `got` until `got` holds `want`; false if the
/// output ends or `secs` pass first.
pub fn gather_into(rx: &Receiver<Vec<u8>>, got: &mut Vec<u8>, want: &str, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !String::from_utf8_lossy(got).contains(want) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return false;
        };
        match rx.recv_timeout(left) {
            Ok(chunk) => got.extend(chunk),
            Err(_) => return false,
        }
    }
    true
}
