//! `PyO3` wrappers of the tariff engine: `CompiledTariff`, `price_cdr`, `price_session`, `price_cdr_batch`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::errors::CoreError;
use crate::tariff::{price, Tariff, Usage};

/// An OCPI 2.2.1 Tariff, parsed and validated once; immutable and shareable between threads.
#[pyclass(frozen, module = "gateway._core")]
pub(crate) struct CompiledTariff {
    inner: Arc<Tariff>,
}

#[pymethods]
impl CompiledTariff {
    #[new]
    fn new(tariff_json: &[u8]) -> PyResult<Self> {
        Ok(Self {
            inner: Arc::new(Tariff::from_json(tariff_json)?),
        })
    }

    /// `Tariff.id`, if the JSON had one.
    #[getter]
    fn id(&self) -> Option<&str> {
        self.inner.id.as_deref()
    }

    /// ISO 4217 currency of the tariff.
    #[getter]
    fn currency(&self) -> &str {
        &self.inner.currency
    }

    fn __repr__(&self) -> String {
        format!(
            "CompiledTariff(id={:?}, currency={:?})",
            self.inner.id.as_deref().unwrap_or(""),
            self.inner.currency
        )
    }
}

/// Prices a CDR (JSON bytes); `tariff=None` uses the tariffs embedded in the CDR.
#[pyfunction]
#[pyo3(signature = (tariff, cdr, tz=None))]
pub(crate) fn price_cdr<'py>(
    py: Python<'py>,
    tariff: Option<&Bound<'py, CompiledTariff>>,
    cdr: &[u8],
    tz: Option<&str>,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = price(tariff.map(|t| t.get().inner.as_ref()), Usage::Cdr, cdr, tz)?;
    Ok(PyBytes::new(py, &out))
}

/// Prices a Session so far (JSON bytes) with `tariff`.
#[pyfunction]
#[pyo3(signature = (tariff, session, tz=None))]
pub(crate) fn price_session<'py>(
    py: Python<'py>,
    tariff: &Bound<'py, CompiledTariff>,
    session: &[u8],
    tz: Option<&str>,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = price(Some(tariff.get().inner.as_ref()), Usage::Session, session, tz)?;
    Ok(PyBytes::new(py, &out))
}

/// One case of a batch: tariff index (or `None` = embedded), CDR bytes, time zone.
type Case = (Option<usize>, PyBackedBytes, Option<String>);

/// Prices many CDRs with the GIL released; each result is JSON bytes or an error message (str).
#[pyfunction]
#[allow(clippy::needless_pass_by_value)] // PyO3 extracts sequences into owned Vecs
pub(crate) fn price_cdr_batch<'py>(
    py: Python<'py>,
    tariffs: Vec<Bound<'py, CompiledTariff>>,
    cases: Vec<Case>,
) -> PyResult<Bound<'py, PyList>> {
    let tariffs: Vec<Arc<Tariff>> = tariffs.iter().map(|t| Arc::clone(&t.get().inner)).collect();
    let results: Vec<Result<Vec<u8>, String>> = py.detach(|| {
        cases
            .iter()
            .enumerate()
            .map(|(i, (index, cdr, tz))| {
                let tariff = match index {
                    None => None,
                    Some(ix) => match tariffs.get(*ix) {
                        Some(t) => Some(t.as_ref()),
                        None => return Err(format!("Case {i}: tariff index {ix} is out of range")),
                    },
                };
                price(tariff, Usage::Cdr, cdr, tz.as_deref()).map_err(|err: CoreError| err.to_string())
            })
            .collect()
    });
    let list = PyList::empty(py);
    for result in results {
        match result {
            Ok(bytes) => list.append(PyBytes::new(py, &bytes))?,
            Err(message) => list.append(PyString::new(py, &message))?,
        }
    }
    Ok(list)
}
