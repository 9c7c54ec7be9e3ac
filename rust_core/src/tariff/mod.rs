//! The tariff engine: OCPI 2.2.1 Tariffs compiled once, then CDRs and Sessions priced against them.
//!
//! Never uses `PyO3`; `bindings::tariff` wraps it. Rules and readings: /work/shared/ocpi/tariffs.md §5 and the
//! README's ambiguities 11-21; each reading is named where it is implemented.

mod batch;
mod fixed;
mod model;
mod money;
mod output;
mod pricing;
mod restrictions;
mod scan;
mod step_size;
mod timeline;
mod wire;
mod writer;

pub(crate) use batch::BatchCache;
use batch::{embedded, zone};
pub(crate) use model::Tariff;
use output::Rounded;
use pricing::{Kind, Line};
use rust_decimal::Decimal;
use timeline::Timeline;
use wire::{decode, RawTariff, RawUsage};

use crate::errors::CoreError;

/// What is being priced: a finished CDR or a Session so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// A CDR: `end_date_time` and at least one period required; may embed its tariffs.
    Cdr,
    /// A Session so far: priced up to `end_date_time`, else `last_updated`.
    Session,
}

impl Usage {
    fn object(self) -> &'static str {
        match self {
            Self::Cdr => "CDR",
            Self::Session => "session",
        }
    }
}

/// Prices a CDR or Session (JSON bytes) and returns the result as JSON bytes, with the per-period breakdown.
///
/// `tariff`: `None` = the tariffs embedded in the CDR (each period's `tariff_id` picks one; periods without
/// it use the first tariff valid at the session start). `tz`: IANA zone of the Location; see [`zone`].
pub(crate) fn price(
    tariff: Option<&Tariff>,
    usage: Usage,
    bytes: &[u8],
    tz: Option<&str>,
) -> Result<Vec<u8>, CoreError> {
    let mut out = Vec::with_capacity(1024);
    price_into(&mut out, tariff, usage, bytes, tz, true, None)?;
    Ok(out)
}

/// As [`price`], appending the result to `out`; `breakdown: false` leaves `periods` empty (batch totals).
/// `cache` keeps the CDRs' embedded tariffs compiled across calls (a batch). On error nothing useful is in
/// `out` past its length at the call.
pub(crate) fn price_into(
    out: &mut Vec<u8>,
    tariff: Option<&Tariff>,
    usage: Usage,
    bytes: &[u8],
    tz: Option<&str>,
    breakdown: bool,
    cache: Option<&mut BatchCache>,
) -> Result<(), CoreError> {
    let mut own = None;
    let batch = cache.is_some();
    let cache = match cache {
        Some(cache) => cache,
        None => own.insert(BatchCache::default()), // a single call: empty, allocates as it goes
    };
    let object = usage.object();
    let mut raw: RawUsage<'_> = match scan::usage(bytes, cache.take_periods()) {
        Some(raw) => raw,
        None => decode(object, bytes)?, // unusual input, or an error to report with its field path
    };
    let embedded = match (tariff, raw.tariffs_text) {
        (None, _) => embedded(&raw, object, bytes, batch.then_some(&mut *cache))?,
        (Some(_), None) => None,
        (Some(_), Some(text)) => {
            // Unused, but a CDR whose embedded tariffs are malformed is refused all the same (as serde did).
            if serde_json::from_str::<Vec<RawTariff<'_>>>(text).is_err() {
                decode::<RawUsage<'_>>(object, bytes)?;
            }
            None
        }
    };
    let listed: Vec<&Tariff> = embedded.iter().flat_map(|list| list.iter()).collect(); // empty: no allocation
    let tariffs: &[&Tariff] = if tariff.is_some() { tariff.as_slice() } else { &listed };
    if tariffs.is_empty() {
        return Err(CoreError::NoTariff);
    }
    let location_zone = raw.cdr_location.as_ref().and_then(|l| l.time_zone.as_deref());
    let needs_local = tariffs.iter().any(|t| t.uses_local_time());
    let (zone, zone_source) = zone(tz, location_zone, needs_local, batch.then_some(&mut cache.zones))?;
    let read = raw.periods_read.take();
    let timeline = Timeline::build(&raw, read, object, needs_local.then_some(zone))?;
    if let Some(currency) = &raw.currency {
        if let Some(other) = tariffs.iter().find(|t| !t.currency.eq_ignore_ascii_case(currency)) {
            let problem = format!("is `{currency}` but the tariff is in `{}`", other.currency);
            return Err(CoreError::PricingField {
                object,
                field: "currency".into(),
                problem,
            });
        }
    }
    let tariff_of = &mut cache.tariff_of;
    choose_tariffs(tariff_of, tariffs, &timeline, tariff.is_some(), object)?;
    let expired = usage == Usage::Cdr
        && timeline.periods.iter().any(|p| p.in_reservation)
        && timeline.periods.iter().all(|p| !p.in_session);
    let lines = &mut cache.lines;
    pricing::lines(lines, &mut cache.flats_billed, tariffs, &timeline, tariff_of, expired);
    let priced = Priced {
        tariffs,
        timeline: &timeline,
        tariff_of,
        zone: zone.name(),
        zone_source,
    };
    if breakdown || !write_totals_exactly(out, &priced, lines) {
        write_result(out, &priced, lines, breakdown);
    }
    cache.keep_periods(timeline.periods);
    Ok(())
}

/// What a result is written from.
struct Priced<'t, 'a> {
    tariffs: &'t [&'t Tariff],
    timeline: &'t Timeline<'a>,
    /// Index into `tariffs` of each period's tariff.
    tariff_of: &'t [usize],
    zone: &'static str,
    zone_source: &'static str,
}

impl Priced<'_, '_> {
    /// Reading: min/max of the tariff that prices the last period (its currency too).
    fn last(&self) -> Option<&Tariff> {
        let last = self.tariff_of.last().and_then(|&t| self.tariffs.get(t));
        last.or(self.tariffs.first()).copied()
    }

    /// Charging, parking and reservation seconds.
    fn seconds(&self) -> [i64; 3] {
        let sum = |f: fn(&timeline::Period<'_>) -> i64| self.timeline.periods.iter().map(f).sum::<i64>();
        [sum(|p| p.time_s), sum(|p| p.parking_s), sum(|p| p.reservation_s)]
    }

    fn session_millis(&self) -> i64 {
        timeline::millis_between(self.timeline.start, self.timeline.end)
    }
}

/// Totals only, the batch hot path: writes them from integer arithmetic and returns `true`, or returns
/// `false` having written nothing when that could differ from the `Decimal` figures (see `fixed`).
fn write_totals_exactly(out: &mut Vec<u8>, p: &Priced<'_, '_>, lines: &[Line]) -> bool {
    let last = p.last();
    let figures = fixed::figures(lines, last.and_then(|t| t.min_price), last.and_then(|t| t.max_price));
    let energy = fixed::kwh(p.timeline.periods.iter().map(|p| p.energy));
    let (Some(f), Some(energy)) = (figures, energy) else {
        return false;
    };
    let [time, parking, reservation] = p.seconds().map(fixed::hours);
    let summary = output::Summary {
        currency: last.map_or("", |t| t.currency.as_str()),
        time_zone: p.zone,
        time_zone_source: p.zone_source,
        costs: f.costs.map(|(excl, incl)| (Rounded(excl), Rounded(incl))),
        total_energy: Rounded(energy),
        seconds: [fixed::hours_of_millis(p.session_millis()), time, parking, reservation].map(Rounded),
        billed_energy: Rounded(f.billed_energy),
        billed_seconds: f.billed_hours.map(Rounded),
        min_price_applied: f.min_price_applied,
        max_price_applied: f.max_price_applied,
    };
    output::write(out, &summary, None);
    true
}

/// The result in `Decimal` arithmetic, with the per-period breakdown when asked.
fn write_result(out: &mut Vec<u8>, p: &Priced<'_, '_>, lines: &mut [Line], breakdown: bool) {
    step_size::apply(lines);
    let [energy, time, parking, fixed, reservation] = output::totals(lines);
    let raw_total = energy.add(time).add(parking).add(fixed).add(reservation);
    let last = p.last();
    let (total, min_applied, max_applied) = output::clamp(
        raw_total,
        last.and_then(|t| t.min_price),
        last.and_then(|t| t.max_price),
    );
    let summary = output::Summary {
        currency: last.map_or("", |t| t.currency.as_str()),
        time_zone: p.zone,
        time_zone_source: p.zone_source,
        costs: [total, energy, time, parking, fixed, reservation].map(|a| (a.excl, a.incl)),
        total_energy: p.timeline.periods.iter().map(|p| p.energy).sum(),
        seconds: [
            Decimal::new(p.session_millis(), 3),
            Decimal::from(p.seconds()[0]),
            Decimal::from(p.seconds()[1]),
            Decimal::from(p.seconds()[2]),
        ],
        billed_energy: output::billed(lines, Kind::Energy),
        billed_seconds: [Kind::Time, Kind::Parking, Kind::Reservation].map(|kind| output::billed(lines, kind)),
        min_price_applied: min_applied,
        max_price_applied: max_applied,
    };
    if breakdown {
        let ids: Vec<Option<&str>> = p
            .tariff_of
            .iter()
            .map(|&t| p.tariffs.get(t).and_then(|t| t.id.as_deref()))
            .collect();
        let parts = output::Breakdown {
            timeline: p.timeline,
            lines,
            tariff_ids: &ids,
        };
        output::write(out, &summary, Some(&parts));
    } else {
        output::write(out, &summary, None);
    }
}

/// Index into `tariffs` for every period, into `out`. An explicit tariff prices every period; embedded tariffs
/// are picked by the period's `tariff_id`, else the first valid at the session start (else the first).
fn choose_tariffs(
    out: &mut Vec<usize>,
    tariffs: &[&Tariff],
    timeline: &Timeline<'_>,
    explicit: bool,
    object: &'static str,
) -> Result<(), CoreError> {
    out.clear();
    if explicit {
        out.resize(timeline.periods.len(), 0);
        return Ok(());
    }
    let default = tariffs.iter().position(|t| t.valid_at(timeline.start)).unwrap_or(0);
    let by_id = |id: &str| {
        tariffs
            .iter()
            .position(|t| t.id.as_deref().is_some_and(|own| own.eq_ignore_ascii_case(id)))
    };
    for (i, p) in timeline.periods.iter().enumerate() {
        out.push(match p.tariff_id {
            None => default,
            Some(id) => by_id(id).ok_or_else(|| CoreError::PricingField {
                object,
                field: format!("charging_periods[{i}].tariff_id"),
                problem: format!("is `{id}`, which is not among the CDR's `tariffs`"),
            })?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
