//! The compiled tariff: parsed and validated once, then shared by every pricing call.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::fixed::Rate;
use super::money::parse_number;
use super::restrictions::{Phase, Restrictions};
use super::timeline::parse_datetime;
use super::wire::{decode, RawComponent, RawPrice, RawTariff};
use crate::errors::CoreError;

/// A tariff dimension that a `PriceComponent` prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dimension {
    /// kWh.
    Energy,
    /// Once per session.
    Flat,
    /// Hours not charging.
    Parking,
    /// Hours charging (or reserved, in a reservation element).
    Time,
}

impl Dimension {
    /// The four dimensions, in the order lookups are indexed.
    pub(crate) const ALL: [Self; 4] = [Self::Energy, Self::Flat, Self::Parking, Self::Time];

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ENERGY" => Self::Energy,
            "FLAT" => Self::Flat,
            "PARKING_TIME" => Self::Parking,
            "TIME" => Self::Time,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A compiled `PriceComponent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Component {
    /// Dimension priced.
    pub(crate) dimension: Dimension,
    /// Price per unit excluding VAT.
    pub(crate) price: Decimal,
    /// VAT percentage; `None` = no VAT applicable.
    pub(crate) vat: Option<Decimal>,
    /// Step in Wh or seconds; 0 on the wire is stored as 1.
    pub(crate) step: Decimal,
    /// The same in integers, for exact totals without `Decimal` (`None`: not representable there).
    pub(crate) rate: Option<Rate>,
}

impl Component {
    /// A component of `dimension` (already validated), with its integer rate.
    pub(crate) fn new(dimension: Dimension, price: Decimal, vat: Option<Decimal>, step: Decimal) -> Self {
        Self {
            dimension,
            price,
            vat,
            step,
            rate: Rate::of(price, vat, step),
        }
    }
}

/// A compiled `TariffElement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// Components in wire order.
    pub(crate) components: Vec<Component>,
    /// Restrictions (all-pass when absent).
    pub(crate) restrictions: Restrictions,
    /// Reading 19: a FLAT in this element belongs to parking (its other components are `PARKING_TIME` only).
    pub(crate) parking_only: bool,
}

/// A price limit (`min_price` / `max_price`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    /// Excluding VAT.
    pub(crate) excl: Decimal,
    /// Including VAT, when given.
    pub(crate) incl: Option<Decimal>,
}

/// Which elements price which phase (ambiguity 13); each list holds `(element, component)` in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The session (elements without `reservation`).
    Session,
    /// A reservation followed by a session: `RESERVATION` elements.
    Reservation,
    /// An expired reservation: `RESERVATION_EXPIRES` elements, then `RESERVATION` elements.
    Expired,
}

/// A tariff compiled from OCPI JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tariff {
    /// `Tariff.id`, when given.
    pub(crate) id: Option<String>,
    /// ISO 4217 currency.
    pub(crate) currency: String,
    /// Elements in wire order.
    pub(crate) elements: Vec<Element>,
    /// Minimum session price.
    pub(crate) min_price: Option<Limit>,
    /// Maximum session price.
    pub(crate) max_price: Option<Limit>,
    /// Valid from (UTC).
    pub(crate) start: Option<DateTime<Utc>>,
    /// Valid until, exclusive (UTC).
    pub(crate) end: Option<DateTime<Utc>>,
    /// `candidates[lookup][dimension]`: the `(element, component)` pairs to try, first match wins.
    candidates: [[Vec<(usize, usize)>; 4]; 3],
}

impl Tariff {
    /// Parses and validates OCPI Tariff JSON.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, CoreError> {
        let raw: RawTariff<'_> = decode("tariff", bytes)?;
        Self::compile(&raw, "tariff", "")
    }

    /// Compiles a decoded tariff; `object` and `at` place errors (e.g. `CDR`, `tariffs[0].`).
    pub(crate) fn compile(raw: &RawTariff<'_>, object: &'static str, at: &str) -> Result<Self, CoreError> {
        let invalid = |field: String, problem: String| CoreError::PricingField { object, field, problem };
        if raw.elements.is_empty() {
            return Err(invalid(
                format!("{at}elements"),
                "must list at least one element".into(),
            ));
        }
        let mut elements = Vec::with_capacity(raw.elements.len());
        for (e, element) in raw.elements.iter().enumerate() {
            let here = format!("{at}elements[{e}]");
            if element.price_components.is_empty() {
                return Err(invalid(
                    format!("{here}.price_components"),
                    "must list at least one component".into(),
                ));
            }
            let components = element
                .price_components
                .iter()
                .enumerate()
                .map(|(c, raw)| {
                    component(raw, &format!("{here}.price_components[{c}]")).map_err(|(f, p)| invalid(f, p))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let restrictions = match &element.restrictions {
                Some(r) => Restrictions::compile(r, &format!("{here}.restrictions")).map_err(|err| match err {
                    CoreError::PricingField { field, problem, .. } => invalid(field, problem),
                    other => other,
                })?,
                None => Restrictions::default(),
            };
            let parking_only = components.iter().any(|c| c.dimension == Dimension::Parking)
                && components
                    .iter()
                    .all(|c| matches!(c.dimension, Dimension::Parking | Dimension::Flat));
            elements.push(Element {
                components,
                restrictions,
                parking_only,
            });
        }
        let limit = |price: Option<&RawPrice<'_>>, name: &str| -> Result<Option<Limit>, CoreError> {
            let Some(price) = price else { return Ok(None) };
            let excl = parse_number(price.excl_vat.get()).map_err(|p| invalid(format!("{at}{name}.excl_vat"), p))?;
            let incl = price
                .incl_vat
                .map(|v| parse_number(v.get()).map_err(|p| invalid(format!("{at}{name}.incl_vat"), p)))
                .transpose()?;
            Ok(Some(Limit { excl, incl }))
        };
        let when = |text: Option<&str>, name: &str| -> Result<Option<DateTime<Utc>>, CoreError> {
            text.map(|t| parse_datetime(t).map_err(|p| invalid(format!("{at}{name}"), p)))
                .transpose()
        };
        if raw.currency.len() != 3 {
            return Err(invalid(
                format!("{at}currency"),
                format!("must be 3 letters, not `{}`", raw.currency),
            ));
        }
        let mut tariff = Self {
            id: raw.id.clone(),
            currency: raw.currency.clone(),
            min_price: limit(raw.min_price.as_ref(), "min_price")?,
            max_price: limit(raw.max_price.as_ref(), "max_price")?,
            start: when(raw.start_date_time.as_deref(), "start_date_time")?,
            end: when(raw.end_date_time.as_deref(), "end_date_time")?,
            elements,
            candidates: Default::default(),
        };
        tariff.candidates = [Lookup::Session, Lookup::Reservation, Lookup::Expired].map(|l| tariff.build(l));
        Ok(tariff)
    }

    fn build(&self, lookup: Lookup) -> [Vec<(usize, usize)>; 4] {
        let phases: &[Option<Phase>] = match lookup {
            Lookup::Session => &[None],
            Lookup::Reservation => &[Some(Phase::Reservation)],
            Lookup::Expired => &[Some(Phase::Expires), Some(Phase::Reservation)],
        };
        Dimension::ALL.map(|dimension| {
            let mut list = Vec::new();
            for phase in phases {
                for (e, element) in self.elements.iter().enumerate() {
                    // Ambiguity: an element listing a dimension twice uses its first occurrence.
                    let first = element.components.iter().position(|c| c.dimension == dimension);
                    if let (true, Some(c)) = (element.restrictions.phase == *phase, first) {
                        list.push((e, c));
                    }
                }
            }
            list
        })
    }

    /// The `(element, component)` pairs that may price `dimension` in `lookup`, in priority order.
    pub(crate) fn candidates(&self, lookup: Lookup, dimension: Dimension) -> &[(usize, usize)] {
        let by_lookup = match lookup {
            Lookup::Session => &self.candidates[0],
            Lookup::Reservation => &self.candidates[1],
            Lookup::Expired => &self.candidates[2],
        };
        match dimension.index() {
            0 => &by_lookup[0],
            1 => &by_lookup[1],
            2 => &by_lookup[2],
            _ => &by_lookup[3],
        }
    }

    /// Whether some restriction depends on the Location's local time.
    pub(crate) fn uses_local_time(&self) -> bool {
        self.elements.iter().any(|e| e.restrictions.uses_local_time())
    }

    /// Whether the tariff is valid at `t` (start inclusive, end exclusive).
    pub(crate) fn valid_at(&self, t: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t < e)
    }
}

fn component(raw: &RawComponent<'_>, at: &str) -> Result<Component, (String, String)> {
    let dimension = Dimension::parse(&raw.kind).ok_or_else(|| {
        (
            format!("{at}.type"),
            format!("is not a TariffDimensionType: `{}`", raw.kind),
        )
    })?;
    let price = parse_number(raw.price.get()).map_err(|p| (format!("{at}.price"), p))?;
    let vat = raw
        .vat
        .map(|v| parse_number(v.get()))
        .transpose()
        .map_err(|p| (format!("{at}.vat"), p))?;
    if vat.is_some_and(|v| v.is_sign_negative() && !v.is_zero()) {
        return Err((format!("{at}.vat"), "must not be negative".into()));
    }
    let step = parse_number(raw.step_size.get()).map_err(|p| (format!("{at}.step_size"), p))?;
    if step.is_sign_negative() && !step.is_zero() || step.fract() != Decimal::ZERO {
        return Err((
            format!("{at}.step_size"),
            format!("must be a whole number >= 0, not {step}"),
        ));
    }
    // The erratum's advice: accept 0 and treat it like 1.
    let step = if step.is_zero() { Decimal::ONE } else { step };
    Ok(Component::new(dimension, price, vat, step))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const COMPLEX: &str = r#"{"currency": "EUR", "elements": [
        {"price_components": [{"type": "FLAT", "price": 2.5, "vat": 15.0, "step_size": 1}]},
        {"price_components": [{"type": "TIME", "price": 1.0, "step_size": 900}], "restrictions": {"max_current": 32}},
        {"price_components": [{"type": "TIME", "price": 2.0, "step_size": 600}, {"type": "TIME", "price": 9, "step_size": 1}]},
        {"price_components": [{"type": "PARKING_TIME", "price": 5, "step_size": 300}, {"type": "FLAT", "price": 1, "step_size": 0}]},
        {"price_components": [{"type": "TIME", "price": 3, "step_size": 60}], "restrictions": {"reservation": "RESERVATION"}},
        {"price_components": [{"type": "FLAT", "price": 4, "step_size": 1}], "restrictions": {"reservation": "RESERVATION_EXPIRES"}}
    ]}"#;

    #[test]
    fn candidates_are_per_dimension_in_list_order() {
        let t = Tariff::from_json(COMPLEX.as_bytes()).unwrap();
        assert_eq!(t.candidates(Lookup::Session, Dimension::Time), &[(1, 0), (2, 0)]);
        assert_eq!(t.candidates(Lookup::Session, Dimension::Flat), &[(0, 0), (3, 1)]);
        assert_eq!(t.candidates(Lookup::Reservation, Dimension::Time), &[(4, 0)]);
        assert_eq!(t.candidates(Lookup::Expired, Dimension::Flat), &[(5, 0)]);
        assert_eq!(t.candidates(Lookup::Expired, Dimension::Time), &[(4, 0)]);
        assert!(t.elements[3].parking_only && !t.elements[0].parking_only);
        assert_eq!(t.elements[3].components[1].step, Decimal::ONE);
    }

    #[test]
    fn invalid_tariffs_name_the_field() {
        let cases = [
            (r#"{"currency": "EUR", "elements": []}"#, "`elements`"),
            (
                r#"{"currency": "EURO", "elements": [{"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]}]}"#,
                "`currency`",
            ),
            (
                r#"{"currency": "EUR", "elements": [{"price_components": []}]}"#,
                "`elements[0].price_components`",
            ),
            (
                r#"{"currency": "EUR", "elements": [{"price_components": [{"type": "X", "price": 1, "step_size": 1}]}]}"#,
                "`elements[0].price_components[0].type`",
            ),
            (
                r#"{"currency": "EUR", "elements": [{"price_components": [{"type": "TIME", "price": 1, "step_size": 1.5}]}]}"#,
                "`elements[0].price_components[0].step_size`",
            ),
            (
                r#"{"currency": "EUR", "elements": [{"price_components": [{"type": "TIME", "price": 1, "step_size": 1}]}], "max_price": {"excl_vat": "1"}}"#,
                "`max_price.excl_vat`",
            ),
        ];
        for (json, field) in cases {
            let err = Tariff::from_json(json.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(field), "{json}: {err}");
        }
    }
}
