//! The totals of a priced CDR in exact integer arithmetic: the figures the `Decimal` code gives, or `None`
//! when this cannot promise the same bytes (the `Decimal` code then runs).
//!
//! Units: quantities (kWh, seconds) in millionths; a component's rate in 10^-18 of the currency per millionth
//! of a unit, so that a line costs `quantity * rate` in 10^-18 exactly. Every cost is then kept as a numerator
//! over `3600 * 10^18`: money times 3600, money·seconds as they are, so time costs need no division at all.
//!
//! Where the `Decimal` code is exact (every quotient by 3600 terminates, every value fits), both agree by
//! construction. Where a quotient does not terminate, `Decimal` rounds it at its 28th digit: with values below
//! 10^4, that error is a million times smaller than the distance from any exact total to any 4-decimal tie or
//! price limit it differs from, so only an exact tie or an exact equality with a limit could come out
//! differently, and those give up.

use rust_decimal::Decimal;

use super::model::Limit;
use super::money::POWERS_OF_TEN;
use super::pricing::{Category, Kind, Line};

/// Millionths: the scale of quantities and prices.
const MILLION: i64 = 1_000_000;

/// `3600 * 10^14`: from a numerator over `3600 * 10^18` to ten-thousandths.
const TO_FOUR_DECIMALS: i128 = 3600 * 10i128.pow(14);

/// Values (in the currency) below which a non-terminating quotient cannot change a result; see the module.
const INEXACT_BOUND: i128 = 3600 * 10i128.pow(18) * 10_000;

/// Values below which every `Decimal` of the computation fits its 96-bit mantissa exactly.
const EXACT_BOUND: i128 = 3600 * 10i128.pow(18) * 1_000_000;

/// Largest step (Wh or seconds) and quantity total (millionths) taken: keeps `step_size`'s `Decimal`
/// quotient far more precise than the distance of a fraction from the next whole number.
const MAX_STEP: i64 = 1_000_000_000;
const MAX_TOTAL: i64 = 1_000_000_000 * MILLION;

/// A price component in integers: see the module for the units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    excl: i64,
    incl: i64,
    /// `step_size` in Wh or seconds (at least 1).
    step: i64,
}

impl Rate {
    /// The rate of a component, when its price has at most 6 decimals, its VAT at most 4 and below 1000 %.
    pub(crate) fn of(price: Decimal, vat: Option<Decimal>, step: Decimal) -> Option<Self> {
        let price = scaled(price, 6)?;
        let factor = match vat {
            None => MILLION, // no VAT: incl = excl, as `with_vat` has it
            Some(vat) if vat < Decimal::ONE_THOUSAND => MILLION + scaled(vat, 4)?,
            Some(_) => return None,
        };
        let step = scaled(step, 0).filter(|s| (1..=MAX_STEP).contains(s))?;
        Some(Self {
            excl: price.checked_mul(MILLION)?,
            incl: price.checked_mul(factor)?,
            step,
        })
    }
}

/// `value * 10^scale` as an integer, when that is exact and fits comfortably.
fn scaled(value: Decimal, scale: u32) -> Option<i64> {
    let mantissa = i64::try_from(value.mantissa()).ok()?;
    let own = value.scale();
    if own <= scale {
        let power = *POWERS_OF_TEN.get((scale - own) as usize)?;
        return mantissa.checked_mul(power).filter(|v| v.unsigned_abs() < 1 << 62);
    }
    let power = *POWERS_OF_TEN.get((own - scale) as usize)?;
    (mantissa % power == 0).then_some(mantissa / power)
}

/// The figures of the result, each rounded to 4 decimals, in ten-thousandths.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Figures {
    /// Total, energy, time, parking, fixed and reservation costs: (excl, incl).
    pub(crate) costs: [(i128, i128); 6],
    /// kWh billed after `step_size`.
    pub(crate) billed_energy: i128,
    /// Billed charging, parking and reservation time, in hours.
    pub(crate) billed_hours: [i128; 3],
    pub(crate) min_price_applied: bool,
    pub(crate) max_price_applied: bool,
}

/// Per kind: Energy, Time, Parking, Reservation, Flat.
fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Energy => 0,
        Kind::Time => 1,
        Kind::Parking => 2,
        Kind::Reservation => 3,
        Kind::Flat => 4,
    }
}

/// The step group of a kind (as `step_size` groups them): energy, time with parking, reservation.
fn group(kind: Kind) -> Option<usize> {
    match kind {
        Kind::Energy => Some(0),
        Kind::Time | Kind::Parking => Some(1),
        Kind::Reservation => Some(2),
        Kind::Flat => None,
    }
}

/// The totals slot of a line, as `output::totals` files it.
fn slot(line: &Line) -> usize {
    match (line.kind, line.category) {
        (Kind::Energy, _) => 0,
        (Kind::Time, _) => 1,
        (Kind::Parking, _) | (Kind::Flat, Category::Parking) => 2,
        (Kind::Flat, Category::Fixed) => 3,
        (Kind::Reservation, _) | (Kind::Flat, Category::Reservation) => 4,
    }
}

fn is_time(kind: Kind) -> bool {
    matches!(kind, Kind::Time | Kind::Parking | Kind::Reservation)
}

/// A line's quantity in millionths (kWh or seconds).
fn units(line: &Line) -> Option<i64> {
    scaled(line.quantity, 6)
}

/// Money and money·seconds of the five totals slots, excl and incl, in 10^-18.
#[derive(Default)]
struct Sums {
    money: [[i128; 2]; 5],
    money_seconds: [[i128; 2]; 5],
}

impl Sums {
    fn add(&mut self, slot: usize, kind: Kind, quantity: i64, rate: Rate) -> Option<()> {
        let cost = [
            i128::from(quantity) * i128::from(rate.excl),
            i128::from(quantity) * i128::from(rate.incl),
        ];
        let sums = if is_time(kind) {
            self.money_seconds.get_mut(slot)?
        } else {
            self.money.get_mut(slot)?
        };
        for (sum, cost) in sums.iter_mut().zip(cost) {
            *sum = sum.checked_add(cost)?;
        }
        Some(())
    }
}

/// The figures of `lines` (before `step_size`, which this applies itself) with the last tariff's limits.
pub(crate) fn figures(lines: &[Line], min: Option<Limit>, max: Option<Limit>) -> Option<Figures> {
    let mut sums = Sums::default();
    let mut priced = [0i64; 5]; // priced quantity per kind
    let mut last: [Option<(usize, Kind, Rate)>; 3] = [None; 3]; // last priced line per step group
    for line in lines {
        let Some(component) = &line.component else { continue };
        let rate = component.rate?;
        let quantity = units(line)?;
        let slot = slot(line);
        sums.add(slot, line.kind, quantity, rate)?;
        let total = priced.get_mut(kind_index(line.kind))?;
        *total = total.checked_add(quantity).filter(|t| *t <= MAX_TOTAL)?;
        if let Some(g) = group(line.kind) {
            *last.get_mut(g)? = Some((slot, line.kind, rate));
        }
    }
    // step_size: the last priced line of each group rounds its kind's priced total up to its step.
    for (g, unit) in last.iter().zip([1000, MILLION, MILLION]) {
        let Some((slot, kind, rate)) = *g else { continue };
        let total = *priced.get(kind_index(kind))?;
        let step = rate.step * unit;
        let extra = (total + step - 1) / step * step - total;
        sums.add(slot, kind, extra, rate)?;
        *priced.get_mut(kind_index(kind))? += extra;
    }
    // Which `Decimal` quotients by 3600 terminate (exact), per slot and excl/incl.
    let exact_slots = sums.money_seconds.map(|pair| pair.map(|n| n % 9 == 0));
    let exact = [0, 1].map(|column| exact_slots.iter().all(|pair| pair[column]));
    let bound = if exact == [true, true] {
        EXACT_BOUND
    } else {
        INEXACT_BOUND
    };
    let mut slots = [[0i128; 2]; 5];
    for ((out, money), seconds) in slots.iter_mut().zip(sums.money).zip(sums.money_seconds) {
        for ((out, money), seconds) in out.iter_mut().zip(money).zip(seconds) {
            let value = money.checked_mul(3600)?.checked_add(seconds)?;
            *out = (value.abs() < bound && seconds.abs() < bound).then_some(value)?;
        }
    }
    let raw = slots.iter().fold([0i128; 2], |[e, i], [se, si]| [e + se, i + si]);
    let (total, min_applied, max_applied) = clamp(raw, min, max, exact)?;
    let round = |[excl, incl]: [i128; 2], [exact_excl, exact_incl]: [bool; 2]| {
        Some((round4(excl, exact_excl)?, round4(incl, exact_incl)?))
    };
    let [energy, time, parking, fixed, reservation] = slots;
    let [e_exact, t_exact, p_exact, f_exact, r_exact] = exact_slots;
    let hours = |kind: Kind| {
        priced
            .get(kind_index(kind))
            .map(|&s| round_ratio(i128::from(s), 360_000))
    };
    Some(Figures {
        costs: [
            round(total, exact)?,
            round(energy, e_exact)?,
            round(time, t_exact)?,
            round(parking, p_exact)?,
            round(fixed, f_exact)?,
            round(reservation, r_exact)?,
        ],
        billed_energy: round_ratio(i128::from(*priced.first()?), 100),
        billed_hours: [hours(Kind::Time)?, hours(Kind::Parking)?, hours(Kind::Reservation)?],
        min_price_applied: min_applied,
        max_price_applied: max_applied,
    })
}

/// A limit as a numerator over `3600 * 10^18`, when it has at most 18 decimals.
fn limit_value(value: Decimal) -> Option<i128> {
    let own = value.scale();
    let power = 10i128.checked_pow(18u32.checked_sub(own)?)?;
    value.mantissa().checked_mul(power)?.checked_mul(3600)
}

/// `output::clamp` on exact values; `None` where it would compare two equal values and the `Decimal` code's
/// rounding could have tipped the comparison (`exact` false for excl or incl), or would rescale incl by excl.
fn clamp(
    raw: [i128; 2],
    min: Option<Limit>,
    max: Option<Limit>,
    [exact_excl, exact_incl]: [bool; 2],
) -> Option<([i128; 2], bool, bool)> {
    let mut out = raw;
    let mut applied = [false, false];
    for (flag, limit, is_min) in applied
        .iter_mut()
        .zip([min, max])
        .zip([true, false])
        .map(|((f, l), m)| (f, l, m))
    {
        let Some(limit) = limit else { continue };
        let beyond = |value: i128, bound: i128, exact: bool| {
            if !exact && value == bound {
                return None;
            }
            Some(if is_min { value < bound } else { value > bound })
        };
        let before = out;
        let excl = limit_value(limit.excl)?;
        if beyond(out[0], excl, exact_excl)? {
            out[0] = excl;
        }
        match limit.incl.map(limit_value) {
            Some(incl) => {
                let incl = incl?;
                if beyond(out[1], incl, exact_incl)? {
                    out[1] = incl;
                }
            }
            None if out[0] == before[0] => {}
            None if before[0] == 0 && exact_excl => out[1] = out[0],
            None => return None, // the rescale `incl * excl' / excl`: the Decimal code's own rounding
        }
        *flag = out != before;
    }
    Some((out, applied[0], applied[1]))
}

/// A numerator over `3600 * 10^18` in ten-thousandths, half away from zero; `None` at an exact tie when the
/// `Decimal` code was not exact (it could have landed on either side).
fn round4(value: i128, exact: bool) -> Option<i128> {
    let (q, r) = (value / TO_FOUR_DECIMALS, value % TO_FOUR_DECIMALS);
    if !exact && 2 * r.abs() == TO_FOUR_DECIMALS {
        return None;
    }
    Some(if 2 * r.abs() >= TO_FOUR_DECIMALS {
        q + value.signum()
    } else {
        q
    })
}

/// Whole seconds as hours, in ten-thousandths.
pub(crate) fn hours(seconds: i64) -> i128 {
    round_ratio(i128::from(seconds) * 10_000, 3600)
}

/// Milliseconds as hours, in ten-thousandths.
pub(crate) fn hours_of_millis(millis: i64) -> i128 {
    round_ratio(i128::from(millis), 360)
}

/// The sum of kWh values in ten-thousandths, when each has at most 6 decimals.
pub(crate) fn kwh(values: impl Iterator<Item = Decimal>) -> Option<i128> {
    let mut sum = 0i64;
    for value in values {
        sum = sum.checked_add(scaled(value, 6)?)?;
    }
    Some(round_ratio(i128::from(sum), 100))
}

/// `num / den` rounded half away from zero (`den > 0`).
fn round_ratio(num: i128, den: i128) -> i128 {
    if let (Ok(num), Ok(den)) = (i64::try_from(num), i64::try_from(den)) {
        // 64-bit division is many times cheaper than 128-bit.
        let (q, r) = (num / den, num % den);
        return i128::from(if 2 * i128::from(r).abs() >= i128::from(den) {
            q + num.signum()
        } else {
            q
        });
    }
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::tariff::money::Amount;
    use crate::tariff::output;
    use crate::tariff::step_size;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn line(kind: Kind, quantity: &str, price: &str, vat: Option<&str>, step: i64, category: Category) -> Line {
        let component = crate::tariff::model::Component::new(
            crate::tariff::model::Dimension::Time,
            dec(price),
            vat.map(dec),
            Decimal::from(step),
        );
        Line {
            period: 0,
            kind,
            quantity: dec(quantity),
            extra: Decimal::ZERO,
            source: Some((0, 0, 0)),
            component: Some(component),
            category,
        }
    }

    /// What the `Decimal` code makes of the same lines, rounded the same way.
    fn by_decimal(lines: &[Line], min: Option<Limit>, max: Option<Limit>) -> Figures {
        let mut lines = lines.to_vec();
        step_size::apply(&mut lines);
        let [energy, time, parking, fixed, reservation] = output::totals(&lines);
        let raw = energy.add(time).add(parking).add(fixed).add(reservation);
        let (total, min_applied, max_applied) = output::clamp(raw, min, max);
        let four = |v: Decimal| crate::tariff::money::round4(v).mantissa();
        let pair = |a: Amount| (four(a.excl), four(a.incl));
        let hours = |kind| four(output::billed(&lines, kind) / Decimal::from(3600));
        Figures {
            costs: [
                pair(total),
                pair(energy),
                pair(time),
                pair(parking),
                pair(fixed),
                pair(reservation),
            ],
            billed_energy: four(output::billed(&lines, Kind::Energy)),
            billed_hours: [hours(Kind::Time), hours(Kind::Parking), hours(Kind::Reservation)],
            min_price_applied: min_applied,
            max_price_applied: max_applied,
        }
    }

    #[test]
    fn agrees_with_the_decimal_code() {
        let mut seed = 12_345u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let prices = ["0.25", "3.00", "1.2345", "0.000001", "2", "-0.5", "17.777777", "0.05"];
        let vats = [None, Some("0"), Some("20"), Some("19.55"), Some("7.1234")];
        let steps = [1, 60, 300, 500, 900, 7];
        let kinds = [Kind::Energy, Kind::Time, Kind::Parking, Kind::Reservation, Kind::Flat];
        let categories = [Category::Fixed, Category::Parking, Category::Reservation];
        let mut compared = 0;
        for _ in 0..20_000 {
            let lines: Vec<Line> = (0..=next(6))
                .map(|_| {
                    let kind = kinds[next(5) as usize];
                    let quantity = match kind {
                        Kind::Energy => format!("{}.{:03}", next(60), next(1000)),
                        Kind::Flat => "1".to_owned(),
                        _ => format!("{}", 1 + next(7200)),
                    };
                    let (price, vat) = (prices[next(8) as usize], vats[next(5) as usize]);
                    let category = categories[next(3) as usize];
                    line(kind, &quantity, price, vat, steps[next(6) as usize], category)
                })
                .collect();
            let limit = |n: u64| match n {
                0 => None,
                1 => Some(Limit {
                    excl: dec("10"),
                    incl: Some(dec("11")),
                }),
                2 => Some(Limit {
                    excl: dec("0.5"),
                    incl: None,
                }),
                _ => Some(Limit {
                    excl: dec("3.0025"),
                    incl: Some(dec("3.6")),
                }),
            };
            let (min, max) = (limit(next(4)), limit(next(4)));
            if let Some(fast) = figures(&lines, min, max) {
                assert_eq!(fast, by_decimal(&lines, min, max), "{lines:?}");
                compared += 1;
            }
        }
        assert!(compared > 12_000, "{compared}"); // the others rescale incl at a limit, or sit on a tie
    }

    #[test]
    fn gives_up_where_the_decimal_code_rounds_or_rescales() {
        let time = |price| line(Kind::Time, "1", price, None, 1, Category::Fixed);
        // 1 s at 0.18/h is 0.00005 exactly, a tie: exact, so it is rounded here (away from zero).
        assert_eq!(figures(&[time("0.18")], None, None).unwrap().costs[0].0, 1);
        // Two thirds of a tie: not a terminating quotient, but no tie either.
        assert!(figures(&[time("0.12")], None, None).is_some());
        // A max price without incl_vat that applies: incl is rescaled by the Decimal code.
        let energy = line(Kind::Energy, "100", "1", Some("20"), 1, Category::Fixed);
        let max = Some(Limit {
            excl: dec("10"),
            incl: None,
        });
        assert!(figures(&[energy], None, max).is_none());
        // A price with more than 6 decimals.
        assert!(Rate::of(dec("0.0000001"), None, Decimal::ONE).is_none());
    }
}
