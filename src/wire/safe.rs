//! Bounded string and list types for the wire.
//!
//! They encode exactly like nanoserde's `String` and `Vec<T>` (a u64 length,
//! then the items), but decoding refuses any length larger than the bytes
//! left in the frame before it allocates, so no input can make the daemon
//! allocate more than the frame it already holds, or panic on overflow.

use nanoserde::{DeBin, DeBinErr, SerBin, SerJson, SerJsonState};
use std::fmt;
use std::ops::Deref;

/// A UTF-8 string on the wire.
#[derive(Clone, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Text(pub String);

/// A list on the wire. Every item encodes to at least one byte, so a length
/// beyond the bytes left is refused before anything is allocated.
#[derive(Clone, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

fn read_len(o: &mut usize, d: &[u8]) -> Result<usize, DeBinErr> {
    let len = u64::de_bin(o, d)?;
    let left = d.len().saturating_sub(*o) as u64;
    if len > left {
        return Err(DeBinErr::new(*o, len as usize, d.len()));
    }
    Ok(len as usize)
}

impl SerBin for Text {
    fn ser_bin(&self, out: &mut Vec<u8>) {
        self.0.ser_bin(out)
    }
}

impl DeBin for Text {
    fn de_bin(o: &mut usize, d: &[u8]) -> Result<Self, DeBinErr> {
        let len = read_len(o, d)?;
        let bytes = &d[*o..*o + len];
        let s = std::str::from_utf8(bytes).map_err(|_| DeBinErr::new(*o, len, d.len()))?;
        *o += len;
        Ok(Text(s.to_owned()))
    }
}

impl SerJson for Text {
    fn ser_json(&self, d: usize, s: &mut SerJsonState) {
        self.0.ser_json(d, s)
    }
}

impl<T: SerBin> SerBin for List<T> {
    fn ser_bin(&self, out: &mut Vec<u8>) {
        self.0.ser_bin(out)
    }
}

impl<T: DeBin> DeBin for List<T> {
    fn de_bin(o: &mut usize, d: &[u8]) -> Result<Self, DeBinErr> {
        let len = read_len(o, d)?;
        // Reserve little: `len` items of size_of::<T>() each could be many
        // times the frame. The Vec grows only as items really decode.
        let mut out = Vec::with_capacity(len.min(64));
        for _ in 0..len {
            out.push(T::de_bin(o, d)?);
        }
        Ok(List(out))
    }
}

impl<T: SerJson> SerJson for List<T> {
    fn ser_json(&self, d: usize, s: &mut SerJsonState) {
        self.0.ser_json(d, s)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, not write_str, so `{:<9}` widths apply.
        f.pad(&self.0)
    }
}

impl<T: fmt::Debug> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(s.to_owned())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(s)
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(v: Vec<T>) -> Self {
        List(v)
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        List(iter.into_iter().collect())
    }
}
