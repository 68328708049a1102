//! `file:PATH`: ready once the path exists (a stat when the try is due,
//! following symlinks as `test -e` does).

use super::Outcome;
use std::path::Path;

pub fn exists(path: &Path) -> Outcome {
    match std::fs::metadata(path) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "{}: {}",
            path.display(),
            crate::core::supervisor::os_reason(&e)
        )),
    }
}
