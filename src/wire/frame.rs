//! Framing: a 4-byte little-endian length, one protocol version byte, then a
//! nanoserde binary body (SPEC §9).
//!
//! The length counts the version byte and the body, and is at most
//! [`MAX_FRAME`]. [`split`] looks at a buffer of bytes received so far and
//! says whether a whole frame is there, without allocating, so a reader can
//! refuse an oversized frame from its header alone. Pure and I/O-free, so it
//! can be fuzzed directly.

use nanoserde::{DeBin, SerBin};
use std::fmt;
use std::io::{self, Read, Write};

/// Bumped only when an old peer could misread a new frame.
pub const PROTOCOL_VERSION: u8 = 1;
/// Largest allowed value of the length prefix (version byte + body).
pub const MAX_FRAME: usize = 1 << 20;
const HEADER: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix is larger than [`MAX_FRAME`].
    TooLarge(u64),
    /// A length of zero: no room for the version byte.
    Empty,
    /// The version byte is not [`PROTOCOL_VERSION`].
    BadVersion(u8),
    /// The body does not decode as the expected message.
    Malformed(String),
    /// The peer closed the connection in the middle of a frame.
    Truncated,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge(n) => {
                write!(
                    f,
                    "frame of {n} bytes is larger than the limit of {MAX_FRAME}"
                )
            }
            FrameError::Empty => f.write_str("frame of length 0 has no version byte"),
            FrameError::BadVersion(v) => write!(
                f,
                "protocol version {v} is not supported (this sv speaks {PROTOCOL_VERSION})"
            ),
            FrameError::Malformed(why) => write!(f, "malformed frame: {why}"),
            FrameError::Truncated => f.write_str("connection closed in the middle of a frame"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Encodes one message as a whole frame.
pub fn encode<T: SerBin>(msg: &T) -> Vec<u8> {
    let mut out = vec![0u8; HEADER];
    out.push(PROTOCOL_VERSION);
    msg.ser_bin(&mut out);
    let len = (out.len() - HEADER) as u32;
    out[..HEADER].copy_from_slice(&len.to_le_bytes());
    out
}

/// Finds the first frame in `buf`. `Ok(None)`: not all of it has arrived.
/// `Ok(Some((body, used)))`: the body (after the version byte) and how many
/// bytes of `buf` the frame took.
pub fn split(buf: &[u8]) -> Result<Option<(&[u8], usize)>, FrameError> {
    let Some(header) = buf.get(..HEADER) else {
        return Ok(None);
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len as u64));
    }
    if len == 0 {
        return Err(FrameError::Empty);
    }
    let Some(frame) = buf.get(HEADER..HEADER + len) else {
        return Ok(None);
    };
    if frame[0] != PROTOCOL_VERSION {
        return Err(FrameError::BadVersion(frame[0]));
    }
    Ok(Some((&frame[1..], HEADER + len)))
}

/// Decodes a body that must hold exactly one message.
pub fn decode<T: DeBin>(body: &[u8]) -> Result<T, FrameError> {
    let mut at = 0;
    let msg = T::de_bin(&mut at, body).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if at != body.len() {
        return Err(FrameError::Malformed(format!(
            "{} bytes left over after the message",
            body.len() - at
        )));
    }
    Ok(msg)
}

/// Blocking: writes one message as a frame (the client side).
pub fn write_msg<T: SerBin>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    w.write_all(&encode(msg))
}

/// Blocking: reads one frame and decodes it (the client side). `Ok(None)` at
/// a clean end of stream between frames.
pub fn read_msg<T: DeBin>(r: &mut impl Read) -> io::Result<Option<T>> {
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len as u64).into());
    }
    if len == 0 {
        return Err(FrameError::Empty.into());
    }
    let mut frame = vec![0u8; len];
    r.read_exact(&mut frame).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated.into(),
        _ => e,
    })?;
    if frame[0] != PROTOCOL_VERSION {
        return Err(FrameError::BadVersion(frame[0]).into());
    }
    Ok(Some(decode(&frame[1..])?))
}
