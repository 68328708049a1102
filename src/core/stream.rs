//! Which of a child's two captured outputs: stdout or stderr.
//!
//! What a service keeps per stream (its log files, FIFOs, size limits) is a
//! two-element array indexed by [`Stream`], so no `0` or `1` stands for a
//! stream anywhere else.

use std::fmt;
use std::ops::{Index, IndexMut};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// Both, in the order of a per-stream array.
    pub const BOTH: [Stream; 2] = [Stream::Stdout, Stream::Stderr];

    /// Its name in file names, messages and the `tail` command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// From a request's `stream` byte (0 stdout, 1 stderr); any other
    /// byte means stderr, so a request never fails on it.
    pub fn from_wire(n: u8) -> Stream {
        match n {
            0 => Stream::Stdout,
            _ => Stream::Stderr,
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A per-stream array: stdout first (the one place a stream is a number).
impl<T> Index<Stream> for [T; 2] {
    type Output = T;
    fn index(&self, s: Stream) -> &T {
        &self[s as usize]
    }
}

impl<T> IndexMut<Stream> for [T; 2] {
    fn index_mut(&mut self, s: Stream) -> &mut T {
        &mut self[s as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_and_names_agree() {
        let names = Stream::BOTH.map(Stream::as_str);
        for s in Stream::BOTH {
            assert_eq!(names[s], s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(Stream::from_wire(0), Stream::Stdout);
        assert_eq!(Stream::from_wire(1), Stream::Stderr);
        assert_eq!(Stream::from_wire(7), Stream::Stderr);
    }
}
