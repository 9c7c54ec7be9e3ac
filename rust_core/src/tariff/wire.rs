//! The JSON shapes read from the wire: only the fields pricing needs, numbers kept as raw text.
//!
//! Unknown fields are ignored (ambiguity 8). Numbers stay `RawValue` so that `money` parses them exactly.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::timeline::Period;
use crate::errors::CoreError;

/// An OCPI Tariff as received.
#[derive(Debug, Deserialize)]
pub(crate) struct RawTariff<'a> {
    #[serde(default)]
    pub(crate) id: Option<String>,
    pub(crate) currency: String,
    #[serde(default, borrow)]
    pub(crate) min_price: Option<RawPrice<'a>>,
    #[serde(default, borrow)]
    pub(crate) max_price: Option<RawPrice<'a>>,
    #[serde(borrow)]
    pub(crate) elements: Vec<RawElement<'a>>,
    #[serde(default)]
    pub(crate) start_date_time: Option<String>,
    #[serde(default)]
    pub(crate) end_date_time: Option<String>,
}

/// An OCPI Price.
#[derive(Debug, Deserialize)]
pub(crate) struct RawPrice<'a> {
    #[serde(borrow)]
    pub(crate) excl_vat: &'a RawValue,
    #[serde(default, borrow)]
    pub(crate) incl_vat: Option<&'a RawValue>,
}

/// An OCPI `TariffElement`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawElement<'a> {
    #[serde(borrow)]
    pub(crate) price_components: Vec<RawComponent<'a>>,
    #[serde(default, borrow)]
    pub(crate) restrictions: Option<RawRestrictions<'a>>,
}

/// An OCPI `PriceComponent`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawComponent<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(borrow)]
    pub(crate) price: &'a RawValue,
    #[serde(default, borrow)]
    pub(crate) vat: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) step_size: &'a RawValue,
}

/// OCPI `TariffRestrictions`; every field optional.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawRestrictions<'a> {
    #[serde(default)]
    pub(crate) start_time: Option<String>,
    #[serde(default)]
    pub(crate) end_time: Option<String>,
    #[serde(default)]
    pub(crate) start_date: Option<String>,
    #[serde(default)]
    pub(crate) end_date: Option<String>,
    #[serde(default, borrow)]
    pub(crate) min_kwh: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) max_kwh: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) min_current: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) max_current: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) min_power: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) max_power: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) min_duration: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) max_duration: Option<&'a RawValue>,
    #[serde(default)]
    pub(crate) day_of_week: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) reservation: Option<String>,
}

/// An OCPI CDR, or an OCPI Session (which has the same fields for pricing; `end_date_time` optional).
///
/// Strings are borrowed from the input (`Cow` owns only those with escapes): this is decoded for every CDR.
#[derive(Debug, Deserialize)]
pub(crate) struct RawUsage<'a> {
    #[serde(borrow)]
    pub(crate) start_date_time: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(crate) end_date_time: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) last_updated: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) currency: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) cdr_location: Option<RawCdrLocation<'a>>,
    #[serde(default, borrow)]
    pub(crate) tariffs: Option<Vec<RawTariff<'a>>>,
    /// The text of `tariffs`, left undecoded by [`super::scan`] so that a batch compiles each text once.
    #[serde(skip)]
    pub(crate) tariffs_text: Option<&'a str>,
    #[serde(default, borrow)]
    pub(crate) charging_periods: Option<Vec<RawPeriod<'a>>>,
    /// The periods as [`super::scan`] read them, straight from the bytes (then `charging_periods` is `None`).
    #[serde(skip)]
    pub(crate) periods_read: Option<Vec<Period<'a>>>,
}

/// The part of `CdrLocation` pricing may use: `time_zone` is not in 2.2.1, but some peers send it.
#[derive(Debug, Deserialize)]
pub(crate) struct RawCdrLocation<'a> {
    #[serde(default, borrow)]
    pub(crate) time_zone: Option<Cow<'a, str>>,
}

/// An OCPI `ChargingPeriod`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawPeriod<'a> {
    #[serde(borrow)]
    pub(crate) start_date_time: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) dimensions: Vec<RawDimension<'a>>,
    #[serde(default, borrow)]
    pub(crate) tariff_id: Option<Cow<'a, str>>,
}

/// An OCPI `CdrDimension`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawDimension<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) volume: RawText<'a>,
}

/// The text of a JSON value as received (a number is then parsed from it exactly); a borrowed `RawValue`
/// that [`super::scan`] can also build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawText<'a>(pub(crate) &'a str);

impl<'de: 'a, 'a> Deserialize<'de> for RawText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(|raw| RawText(raw.get()))
    }
}

/// Decodes `bytes` as `T`; on failure decodes again, tracking the path, so the error names the field.
pub(crate) fn decode<'a, T: Deserialize<'a>>(object: &'static str, bytes: &'a [u8]) -> Result<T, CoreError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(first) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let detail = first.to_string();
            match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(err) => Err(CoreError::PricingJson {
                    object,
                    path: err.path().to_string(),
                    detail,
                }),
                Ok(_) => Err(CoreError::PricingJson {
                    object,
                    path: String::new(),
                    detail,
                }),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn decode_names_the_field_of_a_type_error() {
        let bytes =
            br#"{"currency": "EUR", "elements": [{"price_components": [{"type": 5, "price": 1, "step_size": 1}]}]}"#;
        let err = decode::<RawTariff<'_>>("tariff", bytes).unwrap_err().to_string();
        assert!(err.contains("elements[0].price_components[0].type"), "{err}");
    }

    #[test]
    fn decode_names_a_missing_field() {
        let err = decode::<RawTariff<'_>>("tariff", br#"{"elements": []}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("currency"), "{err}");
    }

    #[test]
    fn decode_ignores_unknown_fields_and_reads_null_as_absent() {
        let bytes = br#"{"currency": "EUR", "x": [1], "min_price": null, "elements": []}"#;
        let tariff = decode::<RawTariff<'_>>("tariff", bytes).unwrap();
        assert!(tariff.min_price.is_none());
    }

    #[test]
    fn decode_rejects_garbage() {
        let err = decode::<RawTariff<'_>>("tariff", b"\xff{").unwrap_err();
        assert!(err.to_string().starts_with("Invalid tariff"), "{err}");
    }
}
