//! `step_size`: applied once per session per group, on the group's billed total (tariffs.md 5.6).
//!
//! Groups: ENERGY; TIME with `PARKING_TIME`; reservation TIME (S8). In each group the last priced line decides
//! the component (S3) and, for `TIME/PARKING_TIME`, which of the two is rounded (S5). Only priced quantity
//! counts (S6, ambiguity 16). The extra is added to that last priced line.

use rust_decimal::Decimal;

use super::money::WH_PER_KWH;
use super::pricing::{Kind, Line};

/// Rounds the three groups of `lines` in place.
pub(crate) fn apply(lines: &mut [Line]) {
    round_group(lines, &[Kind::Energy], WH_PER_KWH);
    round_group(lines, &[Kind::Time, Kind::Parking], Decimal::ONE);
    round_group(lines, &[Kind::Reservation], Decimal::ONE);
}

/// `unit`: step units per line quantity unit (1000 Wh per kWh; 1 s per s).
fn round_group(lines: &mut [Line], kinds: &[Kind], unit: Decimal) {
    let priced = |line: &Line| kinds.contains(&line.kind) && line.component.is_some();
    let Some(last) = lines.iter().rposition(priced) else {
        return;
    };
    let Some(line) = lines.get(last) else { return };
    let kind = line.kind;
    let Some(step) = line.component.as_ref().map(|c| c.step) else {
        return;
    };
    // S5: only the dimension of the last priced line is rounded; the other one is billed exactly.
    let total: Decimal = lines
        .iter()
        .filter(|l| l.kind == kind && l.component.is_some())
        .map(|l| l.quantity * unit)
        .sum();
    let extra = (total / step).ceil() * step - total;
    if let Some(line) = lines.get_mut(last) {
        line.extra = extra / unit;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::tariff::model::{Component, Dimension};
    use crate::tariff::pricing::Category;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn line(kind: Kind, quantity: &str, step: Option<i64>) -> Line {
        Line {
            period: 0,
            kind,
            quantity: dec(quantity),
            extra: Decimal::ZERO,
            source: step.map(|_| (0, 0, 0)),
            component: step.map(|s| Component::new(Dimension::Time, Decimal::ONE, None, Decimal::from(s))),
            category: Category::Fixed,
        }
    }

    #[test]
    fn energy_rounds_the_session_total_with_the_last_step() {
        let mut lines = vec![
            line(Kind::Energy, "4.3", Some(500)),
            line(Kind::Energy, "1.1", Some(500)),
        ];
        apply(&mut lines);
        assert_eq!(lines[0].extra, Decimal::ZERO);
        assert_eq!(lines[1].extra, dec("0.1"));
    }

    #[test]
    fn charging_followed_by_parking_is_not_rounded() {
        let mut lines = vec![
            line(Kind::Time, "1260", Some(600)),
            line(Kind::Parking, "960", Some(600)),
        ];
        apply(&mut lines);
        assert_eq!(lines[0].extra, Decimal::ZERO);
        assert_eq!(lines[1].extra, dec("240"));
    }

    #[test]
    fn free_stretches_do_not_count() {
        let mut lines = vec![
            line(Kind::Time, "720", Some(900)),
            line(Kind::Parking, "480", Some(900)),
            line(Kind::Parking, "720", None),
        ];
        apply(&mut lines);
        assert_eq!(lines[1].extra, dec("420"));
        assert_eq!(lines[2].extra, Decimal::ZERO);
    }
}
