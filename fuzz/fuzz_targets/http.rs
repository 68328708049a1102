//! Bytes as they arrive on an HTTP connection (SPEC §13): requests taken
//! one after another as the daemon does, each within the limits, and the
//! decoders a request's parts go through (the `/logtail/` name, Basic
//! auth). Nothing may panic, hang or allocate beyond the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sv::core::config::Credentials;
use sv::wire::http::{self, Parsed};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let _ = http::expects_continue(rest);
    if let Some(n) = http::request_len(rest) {
        assert!(n <= rest.len() + http::MAX_BODY + 1, "{n} of {}", rest.len());
    }
    while let Parsed::Done(req, used) = http::parse(rest) {
        assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
        assert!(req.body.len() <= http::MAX_BODY);
        assert!(req.headers.len() <= http::MAX_HEADERS);
        assert!(used - req.body.len() <= rest.len());
        let _ = req.keep_alive();
        let _ = http::percent_decode(req.path());
        for plain in [false, true] {
            let creds = Credentials {
                username: "u".into(),
                password: if plain {
                    "p".into()
                } else {
                    "{SHA}516b9783fca517eecbd1d064da2d165310b19759".into()
                },
            };
            let _ = sv::core::http::authorized(&creds, req.header("authorization"));
        }
        // What was taken whole is a whole request again on its own.
        assert!(matches!(http::parse(&rest[..used]), Parsed::Done(_, n) if n == used));
        rest = &rest[used..];
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = http::percent_decode(s);
        let _ = http::base64_decode(s);
    }
});
