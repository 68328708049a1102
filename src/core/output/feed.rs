//! How a read of a child's output is copied, by the keys of its stream:
//! `log_prefix` / `log_timestamps` (SPEC §15), the daemon's own stdout or
//! stderr shared with other programs, `*_events_enabled` (SPEC §14).

use super::shape::{self, Shape};
use super::{LogFile, Shared};
use crate::core::spec::{OutputSpec, ServiceSpec};
use crate::core::stream::Stream;

impl LogFile {
    /// With the keys of `spec` that change how `stream` is copied.
    pub fn shaped(mut self, spec: &ServiceSpec, stream: Stream) -> LogFile {
        self.shape = Shape::new(spec.log_prefix.as_deref(), spec.log_timestamps).map(Box::new);
        let target = [&spec.stdout, &spec.stderr][stream];
        self.daemon = match target {
            OutputSpec::Daemon(n) => Some(*n),
            _ => None,
        };
        self.events = spec.events_enabled[stream];
        self
    }

    /// Whether the stream needs a pipe the daemon reads: a file, the
    /// daemon's own stdout or stderr, or PROCESS_LOG events (raised
    /// whatever the log is, `NONE` too, as supervisord raises them).
    pub fn captured(&self) -> bool {
        self.path.is_some() || self.daemon.is_some() || self.events
    }

    /// The daemon's fd (1 or 2) the stream is copied to, if it is.
    pub fn daemon_fd(&self) -> Option<i32> {
        self.daemon
    }

    /// Whether splice(2) may move the stream as it is: nothing is added
    /// to it, and it goes to a file of its own.
    pub fn plain(&self) -> bool {
        self.shape.is_none() && self.daemon.is_none()
    }

    /// Copies one read of the child's output: prefixed and stamped if
    /// asked, whole lines to a shared stream, else into the file.
    /// What goes into the file is added to `copy`, for `tail -f`.
    /// Returns the error when it is new, for the daemon's log.
    pub fn feed(&mut self, data: &[u8], shared: &mut Shared, copy: &mut Vec<u8>) -> Option<String> {
        let mut shaped = Vec::new();
        let data = match &mut self.shape {
            Some(shape) => {
                shape.apply(data, now_ms(), &mut shaped);
                &shaped[..]
            }
            None => data,
        };
        let Some(n) = self.daemon else {
            copy.extend_from_slice(data);
            return self.write(data);
        };
        let mut lines = Vec::new();
        if shape::whole_lines(&mut self.held, data, &mut lines) {
            self.line_ended();
        }
        self.send(n, &lines, shared)
    }

    /// The process is gone: a partial line held for a shared stream goes
    /// out, with a newline (a file gets its bytes as they came).
    pub fn finish(&mut self, shared: &mut Shared) -> Option<String> {
        let n = self.daemon?;
        let mut lines = Vec::new();
        shape::end_line(&mut self.held, &mut lines);
        self.line_ended();
        self.send(n, &lines, shared)
    }

    fn line_ended(&mut self) {
        if let Some(shape) = &mut self.shape {
            shape.line_ended();
        }
    }

    fn send(&mut self, n: i32, lines: &[u8], shared: &mut Shared) -> Option<String> {
        if shared.push(n, lines) {
            self.error = None;
            return None;
        }
        let e = format!("output to the daemon's fd {n} dropped: it is not being read");
        (self.error.replace(e.clone()).as_ref() != Some(&e)).then_some(e)
    }
}

/// Milliseconds since the epoch, for `log_timestamps`.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sv-feed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Which streams take the read path (prefix, shared stdout) and which
    /// raise PROCESS_LOG: only those whose key says so.
    #[test]
    fn the_keys_of_a_stream_choose_its_path() {
        let mut spec = ServiceSpec::new("w", Vec::new());
        spec.set("stdout_logfile", "/dev/stdout").unwrap();
        spec.set("stderr_events_enabled", "true").unwrap();
        let [out, err] = Stream::BOTH.map(|s| LogFile::new(None, 0, 0).shaped(&spec, s));
        assert!(out.captured() && !out.plain() && !out.events);
        assert!(err.captured() && err.plain() && err.events);
        spec.set("log_timestamps", "true").unwrap();
        let err = LogFile::new(Some(PathBuf::from("/x")), 0, 0).shaped(&spec, Stream::Stderr);
        assert!(err.captured() && !err.plain());
    }

    /// A file gets the shaped bytes, and so does `tail -f` (`copy`); a
    /// line split across reads is prefixed once and nothing is added.
    #[test]
    fn feed_prefixes_a_file_and_its_followers_alike() {
        let d = tmp("feed");
        let p = d.join("f.log");
        let mut spec = ServiceSpec::new("w", Vec::new());
        spec.set("log_prefix", "w |").unwrap();
        let mut log = LogFile::new(Some(p.clone()), 0, 0).shaped(&spec, Stream::Stdout);
        let (mut shared, mut copy) = (Shared::default(), Vec::new());
        for piece in [
            &b"one
tw"[..],
            b"o
thr",
        ] {
            assert!(log.feed(piece, &mut shared, &mut copy).is_none());
        }
        assert!(log.finish(&mut shared).is_none());
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"w | one
w | two
w | thr"
        );
        assert_eq!(
            copy,
            b"w | one
w | two
w | thr"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
