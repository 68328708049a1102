//! Any text as a config file: `parse_str` may refuse it but must never
//! panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = sv::core::config::parse_str(&text);
});
