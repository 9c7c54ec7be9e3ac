//! `TokenCache` and `whitelist_decision` for Python: argument conversion, GIL release, error mapping.
//!
//! Single lookups and single-token writes run with the GIL held: they take well under a microsecond,
//! less than releasing and re-taking the GIL costs (see `benchmarks/bench_token_cache.py`). Whole loads,
//! batches, `clear` and `memory_bytes` release it (`py.detach`).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::CoreError;
use crate::tokens::cache::{Authorization, Key, TokenCache};
use crate::tokens::model::{AllowedType, TokenType, WhitelistType};
use crate::tokens::parse::{parse_patch, parse_token};
use crate::tokens::render::Found;
use crate::tokens::whitelist::{decide, Action, AllowedPolicy, Decision, TokenState};

/// What `authorize` returns: (action, allowed or None, token JSON or None).
type PyAuthorization<'py> = (
    Bound<'py, PyString>,
    Option<Bound<'py, PyString>>,
    Option<Bound<'py, PyBytes>>,
);

/// Every token of every eMSP, compact, with the whitelist decision. Thread-safe.
#[pyclass(frozen, module = "gateway._core", name = "TokenCache")]
pub(crate) struct PyTokenCache {
    inner: TokenCache,
}

fn action_name(py: Python<'_>, action: Action) -> Bound<'_, PyString> {
    match action {
        Action::AnswerLocally => intern!(py, "ANSWER_LOCALLY"),
        Action::AskEmspRealtime => intern!(py, "ASK_EMSP_REALTIME"),
        Action::AskEmspElseLocal => intern!(py, "ASK_EMSP_ELSE_LOCAL"),
        Action::Unknown => intern!(py, "UNKNOWN"),
    }
    .clone()
}

fn allowed_name(py: Python<'_>, allowed: AllowedType) -> Bound<'_, PyString> {
    match allowed {
        AllowedType::Allowed => intern!(py, "ALLOWED"),
        AllowedType::Blocked => intern!(py, "BLOCKED"),
        AllowedType::Expired => intern!(py, "EXPIRED"),
        AllowedType::NoCredit => intern!(py, "NO_CREDIT"),
        AllowedType::NotAllowed => intern!(py, "NOT_ALLOWED"),
    }
    .clone()
}

fn decision_tuple(py: Python<'_>, decision: Decision) -> (Bound<'_, PyString>, Option<Bound<'_, PyString>>) {
    (
        action_name(py, decision.action),
        decision.allowed.map(|allowed| allowed_name(py, allowed)),
    )
}

fn to_python(py: Python<'_>, answer: Authorization) -> PyAuthorization<'_> {
    let (action, allowed) = decision_tuple(py, answer.decision);
    (action, allowed, answer.token.map(|json| PyBytes::new(py, &json)))
}

/// The token's JSON, rendered straight into a new `bytes` of its exact length (no intermediate `Vec`).
fn json_bytes<'py>(py: Python<'py>, found: &Found<'_>) -> PyResult<Bound<'py, PyBytes>> {
    PyBytes::new_with(py, found.json_len(), |buf| {
        found.fill(buf);
        Ok(())
    })
}

fn token_type(name: &str) -> Result<TokenType, CoreError> {
    // The common case first, without a string match.
    if name == "RFID" {
        Ok(TokenType::Rfid)
    } else {
        TokenType::parse(name)
    }
}

#[pymethods]
impl PyTokenCache {
    #[new]
    #[pyo3(signature = (*, allowed_policy = "LOCAL", shards = 64))]
    fn new(allowed_policy: &str, shards: usize) -> PyResult<Self> {
        Ok(Self {
            inner: TokenCache::new(shards, AllowedPolicy::parse(allowed_policy)?),
        })
    }

    /// The policy for `ALLOWED` tokens.
    #[getter]
    fn allowed_policy(&self) -> &'static str {
        self.inner.policy().as_str()
    }

    fn put(&self, token: &[u8]) -> PyResult<bool> {
        Ok(self.inner.put(&parse_token(token)?))
    }

    #[pyo3(signature = (country_code, party_id, uid, token_type, patch))]
    fn patch(&self, country_code: &str, party_id: &str, uid: &str, token_type: &str, patch: &[u8]) -> PyResult<bool> {
        let kind = self::token_type(token_type)?;
        let patch = parse_patch(patch)?;
        match Key::new(country_code, party_id, uid, kind) {
            Some(key) => Ok(self.inner.patch(&key, &patch)?),
            None => Ok(false),
        }
    }

    fn load(&self, py: Python<'_>, data: &[u8]) -> PyResult<(usize, usize)> {
        Ok(py.detach(|| self.inner.load(data))?)
    }

    #[pyo3(signature = (country_code, party_id, uid, token_type = "RFID"))]
    fn remove(&self, country_code: &str, party_id: &str, uid: &str, token_type: &str) -> PyResult<bool> {
        let kind = self::token_type(token_type)?;
        Ok(Key::new(country_code, party_id, uid, kind).is_some_and(|key| self.inner.remove(&key)))
    }

    #[pyo3(signature = (country_code, party_id, uid, token_type = "RFID"))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        country_code: &str,
        party_id: &str,
        uid: &str,
        token_type: &str,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let kind = self::token_type(token_type)?;
        Key::new(country_code, party_id, uid, kind)
            .and_then(|key| self.inner.get_with(&key, |found| json_bytes(py, found)))
            .transpose()
    }

    #[pyo3(signature = (country_code, party_id, uid, token_type = "RFID", emsp_reachable = true))]
    fn authorize<'py>(
        &self,
        py: Python<'py>,
        country_code: &str,
        party_id: &str,
        uid: &str,
        token_type: &str,
        emsp_reachable: bool,
    ) -> PyResult<PyAuthorization<'py>> {
        let kind = self::token_type(token_type)?;
        let key = Key::new(country_code, party_id, uid, kind);
        let (decision, token) = self
            .inner
            .authorize_with(key.as_ref(), emsp_reachable, |found| json_bytes(py, found));
        let (action, allowed) = decision_tuple(py, decision);
        Ok((action, allowed, token.transpose()?))
    }

    #[pyo3(signature = (uid, token_type = "RFID", emsp_reachable = true))]
    fn lookup_any<'py>(
        &self,
        py: Python<'py>,
        uid: &str,
        token_type: &str,
        emsp_reachable: bool,
    ) -> PyResult<Vec<PyAuthorization<'py>>> {
        let kind = self::token_type(token_type)?;
        let answers = self.inner.lookup_any(uid, kind, emsp_reachable);
        Ok(answers.into_iter().map(|answer| to_python(py, answer)).collect())
    }

    #[pyo3(signature = (requests, emsp_reachable = true))]
    fn authorize_many<'py>(
        &self,
        py: Python<'py>,
        requests: &[u8],
        emsp_reachable: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let out = py.detach(|| self.inner.authorize_many(requests, emsp_reachable))?;
        Ok(PyBytes::new(py, &out))
    }

    fn count(&self, country_code: &str, party_id: &str) -> usize {
        self.inner.count(country_code, party_id)
    }

    fn clear(&self, py: Python<'_>) {
        py.detach(|| self.inner.clear());
    }

    fn memory_bytes(&self, py: Python<'_>) -> usize {
        py.detach(|| self.inner.memory_bytes())
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "TokenCache(allowed_policy={:?}, tokens={})",
            self.inner.policy().as_str(),
            self.inner.len()
        )
    }
}

/// The whitelist decision alone, for a token described by its whitelist type and `valid` flag
/// (`whitelist=None`: the token is not known).
#[pyfunction]
#[pyo3(signature = (whitelist, valid, *, emsp_reachable = true, allowed_policy = "LOCAL"))]
pub(crate) fn whitelist_decision<'py>(
    py: Python<'py>,
    whitelist: Option<&str>,
    valid: bool,
    emsp_reachable: bool,
    allowed_policy: &str,
) -> PyResult<(Bound<'py, PyString>, Option<Bound<'py, PyString>>)> {
    let policy = AllowedPolicy::parse(allowed_policy)?;
    let token = whitelist
        .map(WhitelistType::parse)
        .transpose()?
        .map(|whitelist| TokenState { whitelist, valid });
    Ok(decision_tuple(py, decide(token, emsp_reachable, policy)))
}
