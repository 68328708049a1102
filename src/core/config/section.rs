//! One section of one file, for a tool that needs a few of its values and
//! none of the rest: supervisorctl reads `[supervisorctl]` this way, as
//! supervisor's `ClientOptions.read_config` does (no includes, `[DEFAULT]`
//! under the section's own keys, `%(here)s` and `%(ENV_X)s` expanded), so a
//! config sv's full reader would refuse still drives a server.

use super::build::Loader;
use super::expand::Ctx;
use super::lex::lex;
use super::{ConfigError, Host};
use std::path::Path;

/// The `key = value` pairs of section `name` in the file `path` (whose text
/// is `text`), expanded; None when the file has no such section.
pub fn read_section(
    path: &Path,
    text: &str,
    name: &str,
    host: &mut dyn Host,
) -> Result<Option<Vec<(String, String)>>, ConfigError> {
    let sections = lex(text, 0, path)?;
    let Some(own) = sections.iter().rev().find(|s| s.name == name) else {
        return Ok(None);
    };
    let mut entries = Vec::new();
    for s in sections.iter().filter(|s| s.name == "DEFAULT") {
        entries.extend(s.entries.iter().cloned());
    }
    for e in &own.entries {
        entries.retain(|d| d.key != e.key);
        entries.push(e.clone());
    }
    let mut loader = Loader::new(host);
    loader.files.push(path.to_path_buf());
    let ctx = Ctx::new(path);
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        match loader.expand(&e.value, &ctx) {
            Ok(v) => out.push((e.key, v)),
            Err(x) => return Err(loader.unexpanded(&e, &format!("[{name}]"), x)),
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::super::host::Nothing;
    use super::*;

    #[test]
    fn own_keys_over_defaults_with_here_expanded() {
        let text = "[DEFAULT]\nprompt = d\nuser = u\n[supervisorctl]\nserverurl = unix://%(here)s/s.sock ; c\nprompt = p\n[program:x]\ncommand = y\n";
        let got = read_section(
            Path::new("/etc/sv/a.conf"),
            text,
            "supervisorctl",
            &mut Nothing,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            got,
            [
                ("user", "u"),
                ("serverurl", "unix:///etc/sv/s.sock"),
                ("prompt", "p")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(
            read_section(Path::new("a"), text, "nope", &mut Nothing),
            Ok(None)
        );
        assert!(read_section(Path::new("a"), "[x]\nk = %(nope)s\n", "x", &mut Nothing).is_err());
    }
}
