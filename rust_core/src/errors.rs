//! The one error type of the crate and its mapping to Python exceptions.

use std::fmt;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Everything that can go wrong inside the core. Every message is written in `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CoreError {
    /// The input bytes are not valid JSON for the expected shape (raised as the base `CoreError`).
    #[allow(dead_code)] // the tariff engine no longer serialises through serde; kept for non-pricing inputs
    InvalidJson { what: &'static str, detail: String },
    /// A tariff, CDR or session is not valid JSON, or does not have the shape of one.
    PricingJson {
        object: &'static str,
        path: String,
        detail: String,
    },
    /// A field of a tariff, CDR or session has a value the pricing engine cannot accept.
    PricingField {
        object: &'static str,
        field: String,
        problem: String,
    },
    /// The tariff depends on local time but no time zone was given or found.
    TimeZoneRequired,
    /// A time zone name that is not in the IANA database.
    UnknownTimeZone { field: &'static str, name: String },
    /// No tariff given, and the CDR embeds none.
    NoTariff,
    // -- tokens ---------------------------------------------------------------------------------
    /// A field is longer than OCPI allows (lengths count characters).
    FieldTooLong { field: &'static str, max: usize },
    /// A required identifier is the empty string.
    FieldEmpty { field: &'static str },
    /// A `CiString` holds something other than printable ASCII, or a string holds control characters.
    FieldNotPrintable { field: &'static str, ascii: bool },
    /// A `DateTime` is not in the OCPI profile of RFC 3339 (UTC, no offset).
    InvalidDateTime { field: &'static str, value: String },
    /// A PATCH body names another token than the one being patched.
    PatchKeyMismatch { field: &'static str },
    /// An argument from Python is not one of the accepted names.
    UnknownValue { what: &'static str, value: String },
    /// One record of a bulk load is bad; nothing of that load was stored.
    BulkRecord {
        line: bool,
        number: usize,
        source: Box<CoreError>,
    },
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidJson { what, detail } => write!(f, "Invalid {what} JSON: {detail}"),
            Self::PricingJson { object, path, detail } if path.is_empty() || path == "." => {
                write!(f, "Invalid {object} JSON: {detail}")
            }
            Self::PricingJson { object, path, detail } => {
                write!(f, "Invalid {object}: field `{path}`: {detail}")
            }
            Self::PricingField { object, field, problem } => write!(f, "Invalid {object}: field `{field}` {problem}"),
            Self::TimeZoneRequired => write!(
                f,
                "A time zone is required: the tariff has local-time restrictions and neither `tz` nor \
                 `cdr_location.time_zone` is given"
            ),
            Self::UnknownTimeZone { field, name } => write!(f, "Unknown time zone `{name}` - field `{field}`"),
            Self::NoTariff => write!(
                f,
                "No tariff to price with: none given and the CDR's `tariffs` list is empty"
            ),
            Self::FieldTooLong { field, max } => write!(f, "Field `{field}` is longer than {max} characters"),
            Self::FieldEmpty { field } => write!(f, "Field `{field}` is empty"),
            Self::FieldNotPrintable { field, ascii: true } => {
                write!(f, "Field `{field}` must be printable ASCII (CiString)")
            }
            Self::FieldNotPrintable { field, ascii: false } => write!(f, "Field `{field}` contains control characters"),
            Self::InvalidDateTime { field, value } => {
                write!(
                    f,
                    "Field `{field}` is not an OCPI DateTime such as 2015-06-29T20:39:09Z: `{value}`"
                )
            }
            Self::PatchKeyMismatch { field } => write!(f, "Field `{field}` of the PATCH body differs from the token's"),
            Self::UnknownValue { what, value } => write!(f, "Unknown {what} `{value}`"),
            Self::BulkRecord {
                line: true,
                number,
                source,
            } => {
                write!(f, "{source} - at line {number}; nothing was loaded")
            }
            Self::BulkRecord {
                line: false,
                number,
                source,
            } => {
                write!(f, "{source} - at index {number}; nothing was loaded")
            }
        }
    }
}

impl std::error::Error for CoreError {}

create_exception!(
    _core,
    CoreException,
    PyValueError,
    "Base error of gateway._core; a ValueError."
);
create_exception!(
    _core,
    PricingError,
    CoreException,
    "A tariff, CDR or session that cannot be priced."
);

impl CoreError {
    /// Whether the error comes from the tariff engine (raised as `PricingError`).
    fn is_pricing(&self) -> bool {
        matches!(
            self,
            Self::PricingJson { .. }
                | Self::PricingField { .. }
                | Self::TimeZoneRequired
                | Self::UnknownTimeZone { .. }
                | Self::NoTariff
        )
    }
}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> Self {
        if err.is_pricing() {
            PricingError::new_err(err.to_string())
        } else {
            CoreException::new_err(err.to_string())
        }
    }
}

/// Adds the exception types to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CoreError", m.py().get_type::<CoreException>())?;
    m.add("PricingError", m.py().get_type::<PricingError>())
}
