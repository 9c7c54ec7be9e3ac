//! `gateway._core`: the hot paths of the OCPI gateway, exposed to Python.
//!
//! Domain modules (`tokens`, `tariff`, ...) never use `PyO3`; `bindings` wraps them.

mod bindings;
mod errors;
mod tariff;
mod tokens;

use pyo3::prelude::*;

/// The extension module. Every export is listed here, once.
#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::bindings::core_version;
    #[pymodule_export]
    use crate::bindings::ingest::validate_tokens;
    #[pymodule_export]
    use crate::bindings::tariff::{price_cdr, price_cdr_batch, price_session, CompiledTariff};
    #[pymodule_export]
    use crate::bindings::tokens::{whitelist_decision, PyTokenCache};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        crate::errors::register(m)
    }
}
