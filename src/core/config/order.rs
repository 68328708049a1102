//! Errors in file order: a syntax error (or a duplicate section, or an
//! include that cannot be read) stops the reading, but a bad value above it
//! is reported first, as a reader going down the file would find them.

use super::build::Loader;
use super::lex::{lex, split_lines, Section};
use super::{Config, ConfigError};
use std::path::{Path, PathBuf};

/// The sections of one file up to its first syntax error, and that error.
pub(super) fn lex_until_error(
    text: &str,
    file: usize,
    path: &Path,
) -> (Vec<Section>, Option<ConfigError>) {
    match lex(text, file, path) {
        Ok(sections) => (sections, None),
        Err(e) => {
            // The lines above the error lex without one (lex stops at the
            // first), with the same line numbers.
            let above = split_lines(text)
                .into_iter()
                .take(e.line.saturating_sub(1))
                .collect::<Vec<_>>()
                .join("\n");
            (lex(&above, file, path).unwrap_or_default(), Some(e))
        }
    }
}

/// Where an error is: the file's place in the reading order, then the line.
fn position(files: &[PathBuf], e: &ConfigError) -> (usize, usize) {
    let file = files
        .iter()
        .position(|f| *f == e.file)
        .unwrap_or(usize::MAX);
    (file, e.line)
}

impl Loader<'_> {
    /// The config, or its first error in file order: when reading stopped
    /// at `read`'s error, what was read before it is built too and an
    /// error found there, above the stop, is the one reported.
    pub(super) fn finish(
        mut self,
        path: &Path,
        read: Result<(), ConfigError>,
    ) -> Result<Config, ConfigError> {
        let Err(stop) = read else {
            return self.build(path);
        };
        let files = self.files.clone();
        self.incomplete = true;
        match self.build(path) {
            Err(e) if position(&files, &e) < position(&files, &stop) => Err(e),
            _ => Err(stop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;

    fn err(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn a_bad_value_above_a_syntax_error_is_reported_first() {
        let e = err("[program:a]\ncommand=/bin/a\nautostart=maybe\n[broken\n");
        assert!(e.starts_with("config:3: autostart in [program:a]"), "{e}");
        let e = err("[program:a]\ncommand=/bin/a\n[program:b]\nnumprocs=many\nnot a key line\n");
        assert!(e.starts_with("config:4: numprocs in [program:b]"), "{e}");
        // Also above a duplicate section.
        let e = err("[program:a]\ncommand=/bin/a\nstopsignal=NOPE\n[program:a]\n");
        assert!(e.starts_with("config:3: stopsignal in [program:a]"), "{e}");
    }

    #[test]
    fn a_syntax_error_above_a_bad_value_is_reported_first() {
        let e = err("[program:a]\ncommand=/bin/a\n[broken\n[program:b]\nautostart=maybe\n");
        assert!(e.starts_with("config:3: section header '[broken'"), "{e}");
    }

    /// What the error cut off is not missing: the command and the group's
    /// member below the error are not reported instead of it.
    #[test]
    fn what_comes_below_the_error_is_not_missing() {
        let e =
            err("[group:g]\nprograms=a\n[program:a]\nautostart=true\n[broken\ncommand=/bin/a\n");
        assert!(e.starts_with("config:5: section header '[broken'"), "{e}");
        let e = err("[program:a]\nautostart=true\nnot a key line\ncommand=/bin/a\n");
        assert!(e.starts_with("config:3: expected 'key = value'"), "{e}");
    }
}
