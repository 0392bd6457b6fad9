//! The language-neutral test vectors in `conformance/vectors/`: their types, a parser for their line-based
//! format, and loaders. The format is documented in `conformance/vectors/README.md`.
//!
//! ```
//! let files = conformance::vectors::load_all()?;
//! assert!(files.iter().any(|file| file.file_name() == "v5.txt"));
//! # Ok::<(), conformance::vectors::LoadError>(())
//! ```

mod error;
mod hex;
mod json_string;
mod model;
mod parse;

use std::collections::HashMap;
use std::path::Path;

pub use error::{LoadError, ParseError, ParseErrorKind};
pub use hex::{decode as decode_hex, HexError};
pub use json_string::{unescape as unescape_json_string, JsonStringError};
pub use model::{
    CipherVector, ErrorClass, Expectation, ExpectedError, ExpectedPacket, FieldName, Origin,
    Vector, VectorFile,
};
pub use parse::parse_str;

/// The directory holding the bundled vector files.
pub const VECTORS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors");

/// The bundled vector files that must exist, in the order [`load_all`] returns them.
pub const FILES: [&str; 4] = ["v4.txt", "v5.txt", "errors.txt", "cipher.txt"];

impl VectorFile {
    /// The last component of [`VectorFile::file`], e.g. `v5.txt`.
    pub fn file_name(&self) -> &str {
        Path::new(&self.file)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or(&self.file)
    }
}

/// Reads and parses one vector file. Its path, as given, names it in errors and [`Origin`]s.
pub fn load_file(path: &Path) -> Result<VectorFile, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(parse_str(&text, &path.display().to_string())?)
}

/// Loads every `*.txt` file in `dir`, sorted by file name, and checks that vector names are unique across
/// them.
pub fn load_dir(dir: &Path) -> Result<Vec<VectorFile>, LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|ext| ext == "txt") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let files = paths
        .iter()
        .map(|path| load_file(path))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_names(&files)?;
    Ok(files)
}

/// Loads the bundled vector files: every `*.txt` in [`VECTORS_DIR`], the files of [`FILES`] first and in
/// that order. Fails if one of [`FILES`] is missing.
pub fn load_all() -> Result<Vec<VectorFile>, LoadError> {
    let dir = Path::new(VECTORS_DIR);
    let mut files = load_dir(dir)?;
    for wanted in FILES {
        if !files.iter().any(|file| file.file_name() == wanted) {
            return Err(LoadError::Io {
                path: dir.join(wanted),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
    }
    // A stable sort: any other files keep their name order, after these.
    files.sort_by_key(|file| {
        FILES
            .iter()
            .position(|wanted| *wanted == file.file_name())
            .unwrap_or(FILES.len())
    });
    Ok(files)
}

fn check_unique_names(files: &[VectorFile]) -> Result<(), ParseError> {
    let mut seen: HashMap<&str, &Origin> = HashMap::new();
    for file in files {
        for (name, origin) in file.names() {
            if let Some(first) = seen.insert(name, origin) {
                return Err(ParseError {
                    origin: origin.clone(),
                    kind: ParseErrorKind::DuplicateName {
                        name: name.to_owned(),
                        first: first.clone(),
                    },
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("conformance-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn load_all_puts_the_bundled_files_first() {
        let files = load_all().unwrap();
        let names: Vec<&str> = files.iter().map(VectorFile::file_name).collect();
        assert_eq!(names[..FILES.len()], FILES);
    }

    #[test]
    fn names_must_be_unique_across_files() {
        let dir = scratch_dir("duplicates");
        std::fs::write(dir.join("a.txt"), "name: x\nplain: 00\nenciphered: 00\n").unwrap();
        std::fs::write(
            dir.join("b.txt"),
            "# b\nname: x\nplain: 00\nenciphered: 00\n",
        )
        .unwrap();
        std::fs::write(dir.join("notes.md"), "not a vector file").unwrap();
        let error = load_dir(&dir).unwrap_err();
        let LoadError::Parse(error) = error else {
            panic!("expected a parse error, got {error}")
        };
        assert!(error.origin.file.ends_with("b.txt"), "{error}");
        assert_eq!(error.origin.line, 2);
        assert!(
            matches!(&error.kind, ParseErrorKind::DuplicateName { name, first } if name == "x" && first.file.ends_with("a.txt")),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_malformed_file_names_its_path_and_line() {
        let dir = scratch_dir("malformed");
        std::fs::write(
            dir.join("bad.txt"),
            "name: x\nplain: 00\nenciphered: 00\n\nname: y\nframe: zz\nexpect: ok\n",
        )
        .unwrap();
        let message = load_dir(&dir).unwrap_err().to_string();
        let path = dir.join("bad.txt");
        assert!(
            message.starts_with(&format!("{}:6: `frame`", path.display())),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let error = load_dir(Path::new("/nonexistent/conformance/vectors")).unwrap_err();
        assert!(matches!(error, LoadError::Io { .. }), "{error}");
    }
}
