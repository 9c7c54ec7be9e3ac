//! Element choice per dimension and instant, FLAT once, and the billed lines of a timeline.

use rust_decimal::Decimal;

use super::model::{Component, Dimension, Lookup, Tariff};
use super::restrictions::Instant;
use super::timeline::Timeline;

/// What a billed line measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// kWh.
    Energy,
    /// Charging seconds.
    Time,
    /// Parking seconds.
    Parking,
    /// Reservation seconds (TIME of a reservation element).
    Reservation,
    /// A one-off fee.
    Flat,
}

impl Kind {
    /// The name used in the breakdown.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Energy => "ENERGY",
            Self::Time => "TIME",
            Self::Parking => "PARKING_TIME",
            Self::Reservation => "RESERVATION_TIME",
            Self::Flat => "FLAT",
        }
    }
}

/// Where a FLAT fee is reported in the totals (reading 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// `total_fixed_cost`.
    Fixed,
    /// `total_parking_cost`.
    Parking,
    /// `total_reservation_cost`.
    Reservation,
}

/// The component that prices a line: `(tariff, element, component)` indices.
pub(crate) type Source = (usize, usize, usize);

/// One quantity of one period, and the component that prices it (none = a free stretch).
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Index of the period.
    pub(crate) period: usize,
    /// What is measured.
    pub(crate) kind: Kind,
    /// Measured quantity: kWh, seconds, or 1 for FLAT.
    pub(crate) quantity: Decimal,
    /// Quantity added by `step_size` rounding (kWh or seconds).
    pub(crate) extra: Decimal,
    /// The active component, if any.
    pub(crate) source: Option<Source>,
    /// The component itself (a copy, so totals need no lookups).
    pub(crate) component: Option<Component>,
    /// FLAT only: where the fee is reported.
    pub(crate) category: Category,
}

impl Line {
    /// Billed quantity: measured plus `step_size` extra.
    pub(crate) fn billed(&self) -> Decimal {
        self.quantity + self.extra
    }
}

/// Prices every period of `timeline`; `tariff_of[i]` is the index into `tariffs` of period `i`'s tariff.
///
/// `expired`: the CDR is an expired reservation (no session): reservation periods use `RESERVATION_EXPIRES`
/// elements first, then `RESERVATION` elements (ambiguity 13).
///
/// The lines go to `out` (cleared first); `flats_billed` is a buffer (reused across calls by a batch).
pub(crate) fn lines(
    out: &mut Vec<Line>,
    flats_billed: &mut Vec<Source>,
    tariffs: &[&Tariff],
    timeline: &Timeline,
    tariff_of: &[usize],
    expired: bool,
) {
    out.clear();
    flats_billed.clear();
    for (i, period) in timeline.periods.iter().enumerate() {
        let t = tariff_of.get(i).copied().unwrap_or(0);
        let Some(tariff) = tariffs.get(t) else { continue };
        // At most two phases per period (reservation, session): no allocation for them.
        let mut lookups: [Option<(Lookup, Category)>; 2] = [None, None];
        if period.in_reservation {
            let lookup = if expired { Lookup::Expired } else { Lookup::Reservation };
            lookups[0] = Some((lookup, Category::Reservation));
            if period.reservation_s > 0 {
                out.push(line(
                    tariff,
                    t,
                    i,
                    lookup,
                    Dimension::Time,
                    Kind::Reservation,
                    period.reservation_s.into(),
                    &period.instant,
                ));
            }
        }
        if period.in_session {
            lookups[1] = Some((Lookup::Session, Category::Fixed));
            let quantities = [
                (Dimension::Energy, Kind::Energy, period.energy),
                (Dimension::Time, Kind::Time, Decimal::from(period.time_s)),
                (Dimension::Parking, Kind::Parking, Decimal::from(period.parking_s)),
            ];
            for (dimension, kind, quantity) in quantities {
                // Reading "zero quantities": a period without a quantity neither bills it nor steers step_size.
                if quantity > Decimal::ZERO {
                    out.push(line(
                        tariff,
                        t,
                        i,
                        Lookup::Session,
                        dimension,
                        kind,
                        quantity,
                        &period.instant,
                    ));
                }
            }
        }
        // Ambiguity 14: every distinct FLAT component that becomes active is billed once.
        for (lookup, category) in lookups.into_iter().flatten() {
            let Some((e, c)) = select(tariff, lookup, Dimension::Flat, &period.instant) else {
                continue;
            };
            if flats_billed.contains(&(t, e, c)) {
                continue;
            }
            flats_billed.push((t, e, c));
            let parking = tariff.elements.get(e).is_some_and(|el| el.parking_only);
            let category = if category == Category::Fixed && parking {
                Category::Parking
            } else {
                category
            };
            out.push(Line {
                period: i,
                kind: Kind::Flat,
                quantity: Decimal::ONE,
                extra: Decimal::ZERO,
                source: Some((t, e, c)),
                component: component(tariff, e, c).cloned(),
                category,
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn line(
    tariff: &Tariff,
    t: usize,
    period: usize,
    lookup: Lookup,
    dimension: Dimension,
    kind: Kind,
    quantity: Decimal,
    at: &Instant,
) -> Line {
    let chosen = select(tariff, lookup, dimension, at);
    Line {
        period,
        kind,
        quantity,
        extra: Decimal::ZERO,
        source: chosen.map(|(e, c)| (t, e, c)),
        component: chosen.and_then(|(e, c)| component(tariff, e, c)).cloned(),
        category: Category::Fixed,
    }
}

/// Tariffs.md 5.2: the first element (list order) with a component for `dimension` whose restrictions all hold.
fn select(tariff: &Tariff, lookup: Lookup, dimension: Dimension, at: &Instant) -> Option<(usize, usize)> {
    tariff
        .candidates(lookup, dimension)
        .iter()
        .copied()
        .find(|&(e, _)| tariff.elements.get(e).is_some_and(|el| el.restrictions.hold(at)))
}

fn component(tariff: &Tariff, e: usize, c: usize) -> Option<&Component> {
    tariff.elements.get(e).and_then(|el| el.components.get(c))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::tariff::timeline::Timeline;
    use crate::tariff::wire::{decode, RawUsage};

    fn run(tariff: &str, cdr: &str) -> Vec<Line> {
        let tariff = Tariff::from_json(tariff.as_bytes()).unwrap();
        let raw: RawUsage<'_> = decode("CDR", cdr.as_bytes()).unwrap();
        let timeline = Timeline::build(&raw, None, "CDR", Some(chrono_tz::UTC)).unwrap();
        let tariff_of = vec![0; timeline.periods.len()];
        let mut out = Vec::new();
        lines(&mut out, &mut Vec::new(), &[&tariff], &timeline, &tariff_of, false);
        out
    }

    const TARIFF: &str = r#"{"currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 0.30, "step_size": 1}], "restrictions": {"start_time": "17:00", "end_time": "20:00"}},
        {"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}, {"type": "ENERGY", "price": 0.20, "step_size": 1}]},
        {"price_components": [{"type": "TIME", "price": 2, "step_size": 1}]}
    ]}"#;

    #[test]
    fn selection_is_per_dimension_and_flat_billed_once() {
        let cdr = r#"{"start_date_time": "2024-01-15T16:30:00Z", "end_date_time": "2024-01-15T17:30:00Z",
            "charging_periods": [
              {"start_date_time": "2024-01-15T16:30:00Z", "dimensions": [{"type": "ENERGY", "volume": 1}, {"type": "TIME", "volume": 0.5}]},
              {"start_date_time": "2024-01-15T17:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 2}, {"type": "TIME", "volume": 0.5}]}
            ]}"#;
        let lines = run(TARIFF, cdr);
        let summary: Vec<_> = lines
            .iter()
            .map(|l| (l.period, l.kind, l.source.map(|s| s.1)))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, Kind::Energy, Some(1)),
                (0, Kind::Time, Some(2)),
                (0, Kind::Flat, Some(1)),
                (1, Kind::Energy, Some(0)),
                (1, Kind::Time, Some(2)),
            ]
        );
    }

    #[test]
    fn parking_without_component_is_a_free_line() {
        let cdr = r#"{"start_date_time": "2024-01-15T10:00:00Z", "end_date_time": "2024-01-15T11:00:00Z",
            "charging_periods": [{"start_date_time": "2024-01-15T10:00:00Z", "dimensions": [{"type": "PARKING_TIME", "volume": 1}]}]}"#;
        let lines = run(TARIFF, cdr);
        assert!(lines.iter().any(|l| l.kind == Kind::Parking && l.source.is_none()));
    }
}
