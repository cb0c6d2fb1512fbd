//! flow-core's typed errors.
//!
//! Library callers match on these; only the binaries turn them into `anyhow` reports.
//! A scenario that fails validation carries *every* problem found, each with the
//! field path it concerns, so a user fixes a file in one pass.

use std::fmt;

/// One problem with an input document, located by its field path
/// (e.g. `waiting_list[17].stay[0].kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path to the offending field; empty for the document as a whole.
    pub path: String,
    /// What is wrong, in words a scheduler understands.
    pub message: String,
}

impl FieldError {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All problems found in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Errors of flow-core's public API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON at all.
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The document parsed but breaks the contract; every problem is listed.
    #[error("{count} problem(s):\n{errors}", count = errors.0.len())]
    Invalid {
        /// Every problem found.
        errors: FieldErrors,
    },
}

/// `Result` with flow-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
