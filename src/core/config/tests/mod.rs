//! The config reader's tests, by topic; the in-memory host and helpers
//! they share are here.

use super::include::normalize;
use super::*;
use std::collections::{BTreeMap, HashMap};
use std::io;

/// An in-memory machine: files by absolute path, variables, a host name.
#[derive(Default)]
struct Mem {
    files: BTreeMap<PathBuf, String>,
    vars: HashMap<String, String>,
    host: String,
}

impl Mem {
    fn new(files: &[(&str, &str)]) -> Mem {
        Mem {
            files: files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
            vars: HashMap::new(),
            host: "testhost".into(),
        }
    }

    fn var(mut self, k: &str, v: &str) -> Mem {
        self.vars.insert(k.into(), v.into());
        self
    }

    /// Parses the first file (by the order given to `new`, which is also
    /// sorted here, so tests name the main file to sort first).
    fn parse(&mut self, main: &str) -> Result<Config, ConfigError> {
        let text = self.files[Path::new(main)].clone();
        parse(Path::new(main), &text, self)
    }
}

impl Host for Mem {
    fn read(&mut self, path: &Path) -> io::Result<String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn glob(&mut self, dir: &Path, pattern: &str) -> Vec<PathBuf> {
        // A file system without symlinks: `..` is lexical.
        let (asked, dir) = (dir, normalize(dir));
        let dir = dir.as_path();
        // Every file and every directory above one.
        let mut all: Vec<&Path> = Vec::new();
        for f in self.files.keys() {
            all.extend(f.ancestors().filter(|a| !a.as_os_str().is_empty()));
        }
        let mut found: Vec<PathBuf> = all
            .into_iter()
            .filter(|p| p.parent() == Some(dir))
            .filter(|p| glob_match(pattern, &p.file_name().unwrap().to_string_lossy()))
            .map(|p| asked.join(p.file_name().unwrap()))
            .collect();
        found.sort();
        found.dedup();
        found
    }

    fn var(&mut self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn hostname(&mut self) -> String {
        self.host.clone()
    }
}

/// Every process of every program, in order.
fn processes(c: &Config) -> impl Iterator<Item = &ServiceSpec> {
    c.programs.iter().flat_map(|p| &p.processes)
}

fn one(text: &str) -> ServiceSpec {
    let c = parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(processes(&c).count(), 1, "{c:?}");
    let s = processes(&c).next().unwrap().clone();
    s
}

fn err(text: &str) -> String {
    match parse_str(text) {
        Ok(c) => panic!("parsed, but should not have: {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn names(c: &Config) -> Vec<&str> {
    processes(c).map(|s| s.name.as_str()).collect()
}

fn argv(s: &ServiceSpec) -> Vec<&str> {
    s.argv.iter().map(String::as_str).collect()
}

mod disk;
mod expansion;
mod groups;
mod includes;
mod lexing;
mod listeners;
mod programs;
