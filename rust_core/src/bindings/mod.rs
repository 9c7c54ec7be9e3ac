//! `PyO3` wrappers: convert arguments, release the GIL, map errors. One file per domain noun.

pub(crate) mod ingest;
pub(crate) mod tariff;

use pyo3::prelude::*;

pub(crate) mod tokens;

/// The version of the Rust core, as written in `rust_core/Cargo.toml`.
#[pyfunction]
pub(crate) fn core_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
