//! `validate_tokens` for Python: NDJSON in, the good tokens column by column per owner and the bad lines out.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::tokens::ingest::{validate_lines, OwnerTokens};

/// One owner's tokens: (country code, party id, lines, ids, `last_updated` microseconds, JSON).
type PyOwnerTokens<'py> = (
    String,
    String,
    Bound<'py, PyList>,
    Bound<'py, PyList>,
    Bound<'py, PyList>,
    Bound<'py, PyList>,
);

/// What `validate_tokens` returns: the owners' tokens and the bad lines with their message.
type PyValidated<'py> = (Vec<PyOwnerTokens<'py>>, Vec<(usize, String)>);

fn to_python(py: Python<'_>, owner: OwnerTokens) -> PyResult<PyOwnerTokens<'_>> {
    Ok((
        owner.country_code,
        owner.party_id,
        PyList::new(py, owner.lines)?,
        PyList::new(
            py,
            owner
                .ids
                .iter()
                .map(|id| PyString::new(py, std::str::from_utf8(id).unwrap_or_default())),
        )?,
        PyList::new(py, owner.micros)?,
        PyList::new(py, owner.json.iter().map(|json| PyBytes::new(py, json)))?,
    ))
}

/// Validates NDJSON tokens like a PUT; returns the good ones per owner and the bad lines with their error.
#[pyfunction]
#[pyo3(signature = (data, first_line = 1))]
pub(crate) fn validate_tokens<'py>(py: Python<'py>, data: &[u8], first_line: usize) -> PyResult<PyValidated<'py>> {
    let validated = py.detach(|| validate_lines(data, first_line));
    let owners = validated
        .owners
        .into_iter()
        .map(|owner| to_python(py, owner))
        .collect::<PyResult<_>>()?;
    let rejected = validated
        .rejected
        .into_iter()
        .map(|(line, error)| (line, error.to_string()))
        .collect();
    Ok((owners, rejected))
}
