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
    let results: Vec<Result<Vec<u8>, String>> = py.detach(|| price_parallel(&tariffs, &cases));
    let list = PyList::empty(py);
    for result in results {
        match result {
            Ok(bytes) => list.append(PyBytes::new(py, &bytes))?,
            Err(message) => list.append(PyString::new(py, &message))?,
        }
    }
    Ok(list)
}

/// Below this many cases one thread does it all; above, the cases are split over the machine's cores.
const PARALLEL_FROM: usize = 256;

/// Prices `cases` in order, on scoped threads (no global pool, no shared mutable state).
fn price_parallel(tariffs: &[Arc<Tariff>], cases: &[Case]) -> Vec<Result<Vec<u8>, String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    if threads < 2 || cases.len() < PARALLEL_FROM {
        return price_all(tariffs, cases, 0);
    }
    let size = cases.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(size)
            .enumerate()
            .map(|(n, chunk)| scope.spawn(move || price_all(tariffs, chunk, n * size)))
            .collect();
        let mut out = Vec::with_capacity(cases.len());
        for (n, handle) in handles.into_iter().enumerate() {
            match handle.join() {
                Ok(part) => out.extend(part),
                // A panic is a bug; report it per case rather than losing the whole batch.
                Err(_) => out.extend(
                    cases
                        .chunks(size)
                        .nth(n)
                        .unwrap_or_default()
                        .iter()
                        .map(|_| Err("Internal error while pricing".to_owned())),
                ),
            }
        }
        out
    })
}

fn price_all(tariffs: &[Arc<Tariff>], cases: &[Case], first: usize) -> Vec<Result<Vec<u8>, String>> {
    cases
        .iter()
        .enumerate()
        .map(|(i, (index, cdr, tz))| {
            let tariff = match index {
                None => None,
                Some(ix) => match tariffs.get(*ix) {
                    Some(t) => Some(t.as_ref()),
                    None => return Err(format!("Case {}: tariff index {ix} is out of range", first + i)),
                },
            };
            price(tariff, Usage::Cdr, cdr, tz.as_deref()).map_err(|err: CoreError| err.to_string())
        })
        .collect()
}
