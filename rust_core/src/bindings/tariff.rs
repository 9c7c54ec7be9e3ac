//! `PyO3` wrappers of the tariff engine: `CompiledTariff`, `price_cdr`, `price_session`, `price_cdr_batch`.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyBytes, PyList, PyString};

use crate::tariff::{price, price_into, BatchCache, Tariff, Usage};

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
type Case = (Option<usize>, PyBackedBytes, Option<PyBackedStr>);

/// What pricing a slice of cases gave: every result's JSON in one buffer, and per case its range or error.
struct Priced {
    bytes: Vec<u8>,
    outcomes: Vec<Result<Range<usize>, String>>,
}

/// Prices many CDRs with the GIL released; each result is JSON bytes or an error message (str).
///
/// `breakdown=False` leaves every result's `periods` empty, which is most of the work of writing it.
#[pyfunction]
#[pyo3(signature = (tariffs, cases, *, breakdown=true))]
#[allow(clippy::needless_pass_by_value)] // PyO3 extracts sequences into owned Vecs
pub(crate) fn price_cdr_batch<'py>(
    py: Python<'py>,
    tariffs: Vec<Bound<'py, CompiledTariff>>,
    cases: Vec<Case>,
    breakdown: bool,
) -> PyResult<Bound<'py, PyList>> {
    let tariffs: Vec<Arc<Tariff>> = tariffs.iter().map(|t| Arc::clone(&t.get().inner)).collect();
    let parts: Vec<Priced> = py.detach(|| price_parallel(&tariffs, &cases, breakdown));
    let items = parts.iter().flat_map(|part| {
        part.outcomes.iter().map(move |outcome| match outcome {
            Ok(range) => PyBytes::new(py, part.bytes.get(range.clone()).unwrap_or_default()).into_any(),
            Err(message) => PyString::new(py, message).into_any(),
        })
    });
    PyList::new(py, items)
}

/// Below this many cases one thread does it all; above, the cases are shared out over the machine's cores.
const PARALLEL_FROM: usize = 256;

/// Cases taken at a time by a thread: small enough that a thread slowed by other processes on a busy
/// machine does not hold back the batch, large enough that taking work costs nothing measurable.
const CHUNK: usize = 64;

/// Prices `cases` in order, on scoped threads that take chunks from a shared counter (no global pool,
/// no state outliving the call).
fn price_parallel(tariffs: &[Arc<Tariff>], cases: &[Case], breakdown: bool) -> Vec<Priced> {
    // The size first: `available_parallelism` reads cgroup files on every call (tens of µs).
    if cases.len() < PARALLEL_FROM {
        return vec![price_all(tariffs, cases, 0, breakdown, &mut BatchCache::default())];
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    if threads < 2 {
        return vec![price_all(tariffs, cases, 0, breakdown, &mut BatchCache::default())];
    }
    let chunks: Vec<&[Case]> = cases.chunks(CHUNK).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let (mut done, mut cache) = (Vec::new(), BatchCache::default());
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = chunks.get(n) else { return done };
            done.push((n, price_all(tariffs, chunk, n * CHUNK, breakdown, &mut cache)));
        }
    };
    let mut parts: Vec<Option<Priced>> = std::iter::repeat_with(|| None).take(chunks.len()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mine = work();
        // A panic is a bug: its chunk is reported below, per case, rather than losing the whole batch.
        for (n, part) in handles.into_iter().filter_map(|h| h.join().ok()).flatten().chain(mine) {
            if let Some(slot) = parts.get_mut(n) {
                *slot = Some(part);
            }
        }
    });
    parts
        .into_iter()
        .zip(&chunks)
        .map(|(part, chunk)| {
            part.unwrap_or_else(|| Priced {
                bytes: Vec::new(),
                outcomes: vec![Err("Internal error while pricing".to_owned()); chunk.len()],
            })
        })
        .collect()
}

fn price_all(tariffs: &[Arc<Tariff>], cases: &[Case], first: usize, breakdown: bool, cache: &mut BatchCache) -> Priced {
    // Results are short (a few hundred bytes without the breakdown): one buffer for all of them.
    let mut bytes = Vec::with_capacity(cases.len() * if breakdown { 1024 } else { 640 });
    let mut outcomes = Vec::with_capacity(cases.len());
    for (i, (index, cdr, tz)) in cases.iter().enumerate() {
        let tariff = match index.map(|ix| (ix, tariffs.get(ix))) {
            None => None,
            Some((_, Some(t))) => Some(t.as_ref()),
            Some((ix, None)) => {
                outcomes.push(Err(format!("Case {}: tariff index {ix} is out of range", first + i)));
                continue;
            }
        };
        let start = bytes.len();
        match price_into(
            &mut bytes,
            tariff,
            Usage::Cdr,
            cdr,
            tz.as_deref(),
            breakdown,
            Some(&mut *cache),
        ) {
            Ok(()) => outcomes.push(Ok(start..bytes.len())),
            Err(err) => {
                bytes.truncate(start);
                outcomes.push(Err(err.to_string()));
            }
        }
    }
    Priced { bytes, outcomes }
}
