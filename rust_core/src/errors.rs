//! The one error type of the crate and its mapping to Python exceptions.

use std::fmt;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Everything that can go wrong inside the core. Every message is written in `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CoreError {
    /// The input bytes are not valid JSON for the expected shape.
    InvalidJson { what: &'static str, detail: String },
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson { what, detail } => write!(f, "Invalid {what} JSON: {detail}"),
        }
    }
}

impl std::error::Error for CoreError {}

create_exception!(_core, CoreException, PyValueError, "Base error of gateway._core; a ValueError.");

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> Self {
        CoreException::new_err(err.to_string())
    }
}

/// Adds the exception types to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CoreError", m.py().get_type::<CoreException>())
}
