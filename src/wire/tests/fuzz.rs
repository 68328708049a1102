//! Deterministic fuzzing of split and decode: never a panic, and what
//! decodes survives a second round trip.
use super::*;

/// xorshift64*: small, deterministic, no crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn interesting_u64(&mut self, left: usize) -> u64 {
        match self.below(10) {
            0 => u64::MAX,
            1 => 1 << 40,
            2 => (usize::MAX - 3) as u64,
            3 => left as u64,
            4 => left as u64 + 1,
            5 => left.saturating_sub(1) as u64,
            6 => self.next(),
            7 => u32::MAX as u64,
            _ => self.below(64) as u64,
        }
    }
}

/// Decoding must never panic; when it succeeds, the value must survive a
/// second round trip unchanged.
fn feed(buf: &[u8]) {
    match split(buf) {
        Ok(Some((body, used))) => {
            assert!(used <= buf.len() && used >= 5);
            assert_eq!(body.len(), used - 5);
            if let Ok(req) = decode::<Request>(body) {
                let again = encode(&req);
                assert_eq!(decode::<Request>(body_of(&again)).unwrap(), req);
                assert_eq!(body_of(&again).len(), body.len());
            }
            if let Ok(resp) = decode::<Response>(body) {
                let again = encode(&resp);
                assert_eq!(decode::<Response>(body_of(&again)).unwrap(), resp);
                assert_eq!(body_of(&again).len(), body.len());
            }
        }
        Ok(None) => assert!(
            buf.len() < 4
                || buf.len() < 4 + u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize
        ),
        Err(_) => {}
    }
    // Also as a bare body, and through the blocking reader.
    let _ = decode::<Request>(buf);
    let _ = decode::<Response>(buf);
    let _ = read_msg::<Request>(&mut Cursor::new(buf));
    let _ = read_msg::<Response>(&mut Cursor::new(buf));
}

#[test]
fn fuzz_split_and_decode_never_panic() {
    let seeds: Vec<Vec<u8>> = all_frames()
        .into_iter()
        .filter(|f| f.len() < 4096)
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut decoded_ok = 0usize;
    for _ in 0..20_000 {
        let mut buf = match rng.below(8) {
            // Pure noise, sometimes behind a plausible header.
            0 => {
                let n = rng.below(80);
                let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                if rng.below(2) == 0 {
                    let mut f = frame_of(&b);
                    f.truncate(4 + 1 + rng.below(n + 1));
                    b = f;
                    if rng.below(2) == 0 {
                        b = frame_of(&b[5..]);
                    }
                }
                b
            }
            _ => seeds[rng.below(seeds.len())].clone(),
        };
        let rounds = 1 + rng.below(4);
        for _ in 0..rounds {
            if buf.is_empty() {
                break;
            }
            match rng.below(7) {
                // Flip one bit.
                0 => {
                    let i = rng.below(buf.len());
                    buf[i] ^= 1 << rng.below(8);
                }
                // Replace a byte.
                1 => {
                    let i = rng.below(buf.len());
                    buf[i] = rng.next() as u8;
                }
                // Truncate.
                2 => {
                    let n = rng.below(buf.len() + 1);
                    buf.truncate(n);
                }
                // Tweak the length prefix.
                3 if buf.len() >= 4 => {
                    let cur = u32::from_le_bytes(buf[..4].try_into().unwrap());
                    let new = match rng.below(6) {
                        0 => cur.wrapping_add(1),
                        1 => cur.wrapping_sub(1),
                        2 => (MAX_FRAME + rng.below(2)) as u32,
                        3 => u32::MAX,
                        4 => 0,
                        _ => rng.next() as u32,
                    };
                    buf[..4].copy_from_slice(&new.to_le_bytes());
                }
                // Overwrite 8 bytes in the body with an interesting length.
                4 if buf.len() >= 5 + 8 => {
                    let at = 5 + rng.below(buf.len() - 5 - 7);
                    let left = buf.len() - at - 8;
                    let v = rng.interesting_u64(left);
                    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
                }
                // Insert or remove bytes in the body, fixing up the header.
                5 if buf.len() >= 5 => {
                    let at = 5 + rng.below(buf.len() - 4);
                    if rng.below(2) == 0 || at >= buf.len() {
                        buf.insert(at.min(buf.len()), rng.next() as u8);
                    } else {
                        buf.remove(at);
                    }
                    let len = (buf.len() - 4) as u32;
                    buf[..4].copy_from_slice(&len.to_le_bytes());
                }
                // Append garbage (a second, partial frame).
                _ => {
                    for _ in 0..rng.below(12) {
                        buf.push(rng.next() as u8);
                    }
                }
            }
        }
        if let Ok(Some((body, _))) = split(&buf) {
            if decode::<Request>(body).is_ok() || decode::<Response>(body).is_ok() {
                decoded_ok += 1;
            }
        }
        feed(&buf);
    }
    // The mutations are not so violent that nothing ever decodes: the loop
    // does reach past the header checks into the decoders' success paths.
    assert!(decoded_ok > 100, "only {decoded_ok} mutated frames decoded");
}
