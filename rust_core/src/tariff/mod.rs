//! The tariff engine: OCPI 2.2.1 Tariffs compiled once, then CDRs and Sessions priced against them.
//!
//! Never uses `PyO3`; `bindings::tariff` wraps it. Rules and readings: /work/shared/ocpi/tariffs.md §5 and the
//! README's ambiguities 11-21; each reading is named where it is implemented.

mod model;
mod money;
mod output;
mod pricing;
mod restrictions;
mod step_size;
mod timeline;
mod wire;

use chrono_tz::Tz;

pub(crate) use model::Tariff;
use output::PricingOut;
use pricing::Kind;
use rust_decimal::Decimal;
use timeline::Timeline;
use wire::{decode, RawUsage};

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

/// Prices a CDR or Session (JSON bytes) and returns the result as JSON bytes.
///
/// `tariff`: `None` = the tariffs embedded in the CDR (each period's `tariff_id` picks one; periods without
/// it use the first tariff valid at the session start). `tz`: IANA zone of the Location; see [`zone`].
pub(crate) fn price(
    tariff: Option<&Tariff>,
    usage: Usage,
    bytes: &[u8],
    tz: Option<&str>,
) -> Result<Vec<u8>, CoreError> {
    let out = price_out(tariff, usage, bytes, tz)?;
    serde_json::to_vec(&out).map_err(|err| CoreError::InvalidJson {
        what: "result",
        detail: err.to_string(),
    })
}

fn price_out(tariff: Option<&Tariff>, usage: Usage, bytes: &[u8], tz: Option<&str>) -> Result<PricingOut, CoreError> {
    let object = usage.object();
    let raw: RawUsage<'_> = decode(object, bytes)?;
    let embedded: Vec<Tariff> = match (tariff, &raw.tariffs) {
        (Some(_), _) | (None, None) => Vec::new(),
        (None, Some(list)) => list
            .iter()
            .enumerate()
            .map(|(i, t)| Tariff::compile(t, object, &format!("tariffs[{i}].")))
            .collect::<Result<_, _>>()?,
    };
    let tariffs: Vec<&Tariff> = match tariff {
        Some(t) => vec![t],
        None => embedded.iter().collect(),
    };
    if tariffs.is_empty() {
        return Err(CoreError::NoTariff);
    }
    let location_zone = raw.cdr_location.as_ref().and_then(|l| l.time_zone.as_deref());
    let (zone, zone_source) = zone(tz, location_zone, tariffs.iter().any(|t| t.uses_local_time()))?;
    let timeline = Timeline::build(&raw, object, zone)?;
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
    let tariff_of = tariff_of(&tariffs, &timeline, tariff.is_some(), object)?;
    let expired = usage == Usage::Cdr
        && timeline.periods.iter().any(|p| p.in_reservation)
        && timeline.periods.iter().all(|p| !p.in_session);
    let mut lines = pricing::lines(&tariffs, &timeline, &tariff_of, expired);
    step_size::apply(&mut lines);
    let [energy, time, parking, fixed, reservation] = output::totals(&lines);
    let raw_total = energy.add(time).add(parking).add(fixed).add(reservation);
    // Reading: min/max of the tariff that prices the last period.
    let last = tariff_of.last().and_then(|&t| tariffs.get(t)).or(tariffs.first());
    let (total, min_applied, max_applied) = output::clamp(
        raw_total,
        last.and_then(|t| t.min_price),
        last.and_then(|t| t.max_price),
    );
    let billed_hours = |kind| output::hours(output::billed(&lines, kind));
    let time_s: i64 = timeline.periods.iter().map(|p| p.time_s).sum();
    let parking_s: i64 = timeline.periods.iter().map(|p| p.parking_s).sum();
    let reservation_s: i64 = timeline.periods.iter().map(|p| p.reservation_s).sum();
    let energy_kwh: Decimal = timeline.periods.iter().map(|p| p.energy).sum();
    let session_ms = (timeline.end - timeline.start).num_milliseconds();
    let ids: Vec<Option<String>> = tariff_of
        .iter()
        .map(|&t| tariffs.get(t).and_then(|t| t.id.clone()))
        .collect();
    Ok(PricingOut {
        currency: last.map(|t| t.currency.clone()).unwrap_or_default(),
        time_zone: zone.name().to_owned(),
        time_zone_source: zone_source,
        total_cost: total.out(),
        total_energy_cost: energy.out(),
        total_time_cost: time.out(),
        total_parking_cost: parking.out(),
        total_fixed_cost: fixed.out(),
        total_reservation_cost: reservation.out(),
        total_energy: money::fmt4(energy_kwh),
        total_time: output::hours(Decimal::new(session_ms, 3)),
        total_charging_time: output::hours(time_s.into()),
        total_parking_time: output::hours(parking_s.into()),
        total_reservation_time: output::hours(reservation_s.into()),
        billed_energy: money::fmt4(output::billed(&lines, Kind::Energy)),
        billed_time: billed_hours(Kind::Time),
        billed_parking_time: billed_hours(Kind::Parking),
        billed_reservation_time: billed_hours(Kind::Reservation),
        min_price_applied: min_applied,
        max_price_applied: max_applied,
        periods: output::periods(&timeline, &lines, &ids),
    })
}

/// The Location's zone: `tz` if given, else the CDR's `cdr_location.time_zone` (not in 2.2.1, sent by some
/// peers), else UTC — but only when no restriction depends on local time (reading "zone when it matters":
/// pricing a time-of-day tariff in a guessed zone would silently misprice, so that is an error).
fn zone(tz: Option<&str>, location: Option<&str>, needs_local: bool) -> Result<(Tz, &'static str), CoreError> {
    let parse = |name: &str, field: &'static str| {
        name.parse::<Tz>().map_err(|_| CoreError::UnknownTimeZone {
            field,
            name: name.chars().take(64).collect(),
        })
    };
    match (tz, location) {
        (Some(name), _) => Ok((parse(name, "tz")?, "explicit")),
        (None, Some(name)) => Ok((parse(name, "cdr_location.time_zone")?, "cdr_location")),
        (None, None) if needs_local => Err(CoreError::TimeZoneRequired),
        (None, None) => Ok((Tz::UTC, "default")),
    }
}

/// Index into `tariffs` for every period. An explicit tariff prices every period; embedded tariffs are picked
/// by the period's `tariff_id`, else the first valid at the session start (else the first).
fn tariff_of(
    tariffs: &[&Tariff],
    timeline: &Timeline,
    explicit: bool,
    object: &'static str,
) -> Result<Vec<usize>, CoreError> {
    if explicit {
        return Ok(vec![0; timeline.periods.len()]);
    }
    let default = tariffs.iter().position(|t| t.valid_at(timeline.start)).unwrap_or(0);
    let by_id = |id: &str| {
        tariffs
            .iter()
            .position(|t| t.id.as_deref().is_some_and(|own| own.eq_ignore_ascii_case(id)))
    };
    timeline
        .periods
        .iter()
        .enumerate()
        .map(|(i, p)| match p.tariff_id.as_deref() {
            None => Ok(default),
            Some(id) => by_id(id).ok_or_else(|| CoreError::PricingField {
                object,
                field: format!("charging_periods[{i}].tariff_id"),
                problem: format!("is `{id}`, which is not among the CDR's `tariffs`"),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests;
