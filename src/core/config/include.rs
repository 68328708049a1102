//! Step 2: the loader reads a file's sections, merges `[DEFAULT]`, refuses
//! a section that appears twice and follows the file's `[include]` globs,
//! each file once.

use super::build::Loader;
use super::expand::Ctx;
use super::glob::has_magic;
use super::lex::{Entry, Section};
use super::{keys, order, ConfigError};
use std::path::{Component, Path, PathBuf};

/// Files including files including files..., so no input can make the
/// parser recurse without bound.
const MAX_INCLUDE_DEPTH: usize = 16;

/// `a/./b/../c` as `a/c`, without asking the file system.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(".."),
            },
            c => out.push(c),
        }
    }
    out
}

impl Loader<'_> {
    /// Reads the file `path`, whose text is `text`, and what it includes;
    /// `depth` is how many includes deep it is.
    pub(super) fn add_file(
        &mut self,
        path: PathBuf,
        text: &str,
        depth: usize,
    ) -> Result<(), ConfigError> {
        let file = self.files.len();
        self.seen.insert(normalize(&path));
        self.files.push(path);
        let mut include: Option<Section> = None;
        let (sections, broken) = order::lex_until_error(text, file, &self.files[file]);
        for s in sections {
            if s.name == "DEFAULT" {
                self.merge_default(s.entries);
                continue;
            }
            self.refuse_duplicate(&s, include.as_ref())?;
            if s.name == "include" {
                include = Some(s);
            } else {
                self.names.insert(s.name.clone(), self.sections.len());
                self.sections.push(s);
            }
        }
        if let Some(e) = broken {
            return Err(e);
        }
        match include {
            Some(s) => self.include(&s, depth),
            None => Ok(()),
        }
    }

    /// `[DEFAULT]` entries: a later file's key replaces an earlier one.
    fn merge_default(&mut self, entries: Vec<Entry>) {
        for mut e in entries {
            e.default = true;
            match self.defaults.iter().position(|d| d.key == e.key) {
                Some(i) => self.defaults[i] = e,
                None => self.defaults.push(e),
            }
        }
    }

    /// Err if `s` was read before: each file has its own `[include]`
    /// (`include`, this file's so far); other names are global.
    fn refuse_duplicate(&self, s: &Section, include: Option<&Section>) -> Result<(), ConfigError> {
        let first = if s.name == "include" {
            include.map(|i| (i.file, i.line))
        } else {
            let first = self.names.get(&s.name).map(|&i| &self.sections[i]);
            first.map(|f| (f.file, f.line))
        };
        match first {
            Some((f, l)) => Err(self.err(
                s.file,
                s.line,
                format!(
                    "duplicate section [{}]; the first one is at {}:{l}",
                    s.name,
                    self.files[f].display()
                ),
            )),
            None => Ok(()),
        }
    }

    /// Reads the files an `[include]` section names, in order.
    fn include(&mut self, s: &Section, depth: usize) -> Result<(), ConfigError> {
        let e = self.files_entry(s)?;
        let path = &self.files[s.file];
        // Not the Ctx's `here`: a bare `config` includes `x.conf`, not
        // `./x.conf`.
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let ctx = Ctx::new(path);
        let value = self
            .expand(&e.value, &ctx)
            .map_err(|x| self.unexpanded(e, "[include]", x))?;
        for pattern in value.split_whitespace() {
            let found = self.glob(&base, pattern);
            if found.is_empty() {
                let full = base.join(pattern);
                self.warn(
                    e.file,
                    e.line,
                    format!("no file matches the include '{}'", full.display()),
                );
                continue;
            }
            for path in found {
                self.read_included(e, path, depth)?;
            }
        }
        Ok(())
    }

    /// The `files =` of an `[include]`; a warning for each other key.
    fn files_entry<'s>(&mut self, s: &'s Section) -> Result<&'s Entry, ConfigError> {
        let mut files = None;
        for e in &s.entries {
            if e.key != "files" {
                self.unknown_include_key(e);
                continue;
            }
            files = Some(e);
        }
        files.ok_or_else(|| {
            self.err(
                s.file,
                s.line,
                format!(
                    "[include] has no files = line (space-separated globs){}",
                    keys::misspelt_files(&s.entries)
                ),
            )
        })
    }

    /// One file that the `files =` entry `e` matched, unless read already.
    fn read_included(&mut self, e: &Entry, path: PathBuf, depth: usize) -> Result<(), ConfigError> {
        // Read as found (`..` after a symlink is the kernel's business),
        // but never the same file twice.
        if !self.seen.insert(normalize(&path)) {
            return Ok(());
        }
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(self.err(
                e.file,
                e.line,
                format!("includes nested more than {MAX_INCLUDE_DEPTH} deep"),
            ));
        }
        let text = self.host.read(&path).map_err(|why| {
            self.err(
                e.file,
                e.line,
                format!("cannot read the included file {}: {why}", path.display()),
            )
        })?;
        self.add_file(path, &text, depth + 1)
    }

    /// The paths matching `pattern` (wildcards in any component), relative
    /// to `base` unless absolute, sorted as strings as Python sorts them.
    fn glob(&mut self, base: &Path, pattern: &str) -> Vec<PathBuf> {
        let full = base.join(pattern);
        let parts: Vec<Component> = full.components().collect();
        let mut paths = vec![PathBuf::new()];
        for (i, part) in parts.iter().enumerate() {
            match part {
                Component::Normal(name)
                    if i + 1 == parts.len() || has_magic(&name.to_string_lossy()) =>
                {
                    let name = name.to_string_lossy();
                    let mut next = Vec::new();
                    for dir in &paths {
                        next.extend(self.host.glob(dir, &name));
                    }
                    paths = next;
                }
                part => paths.iter_mut().for_each(|p| p.push(part)),
            }
            if paths.is_empty() {
                break;
            }
        }
        paths.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        paths
    }
}
