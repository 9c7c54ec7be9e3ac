//! What a batch keeps between CDRs: compiled embedded tariffs, time zones and buffers; and the lookups that
//! use it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono_tz::Tz;

use super::model::Tariff;
use super::pricing::{Line, Source};
use super::timeline::Period;
use super::wire::{decode, RawTariff, RawUsage};
use crate::errors::CoreError;

/// What one batch thread keeps from CDR to CDR.
///
/// Embedded tariffs compiled once, keyed by their JSON text (CDRs of one CPO usually embed the same few
/// tariffs); the time zones named in the batch (looking a name up in chrono-tz hashes it each time); and the
/// buffers every CDR needs, so that pricing one allocates nothing in the usual case.
#[derive(Default)]
pub(crate) struct BatchCache {
    pub(super) compiled: HashMap<Box<str>, Arc<[Tariff]>>,
    pub(super) zones: Vec<(Box<str>, Tz)>,
    periods: Vec<Period<'static>>,
    pub(super) lines: Vec<Line>,
    pub(super) tariff_of: Vec<usize>,
    pub(super) flats_billed: Vec<Source>,
}

impl BatchCache {
    /// The periods buffer, empty, for a CDR read from bytes of any lifetime.
    pub(super) fn take_periods<'a>(&mut self) -> Vec<Period<'a>> {
        recycle(std::mem::take(&mut self.periods))
    }

    /// Gives the periods buffer back after a CDR.
    pub(super) fn keep_periods(&mut self, periods: Vec<Period<'_>>) {
        self.periods = recycle(periods);
    }
}

/// An empty vector with the allocation of `list`, for periods of another lifetime. Collecting an iterator
/// that yields nothing from `into_iter` reuses the allocation in place (same size and alignment); were the
/// standard library to stop doing so, this would only allocate again.
#[allow(clippy::unnecessary_filter_map)] // `filter` could not change the item type, which is the point
fn recycle<'b>(mut list: Vec<Period<'_>>) -> Vec<Period<'b>> {
    list.clear();
    list.into_iter().filter_map(|_| None).collect()
}

/// Distinct zone names kept at most; past this a name is looked up each time.
const ZONE_CACHE_SIZE: usize = 16;

/// Distinct embedded tariff lists kept at most; past this the cache starts again (bounded memory).
const EMBEDDED_CACHE_SIZE: usize = 256;

/// The CDR's embedded tariffs, compiled (or found compiled in `cache`); `None` when it has none.
pub(super) fn embedded(
    raw: &RawUsage<'_>,
    object: &'static str,
    bytes: &[u8],
    cache: Option<&mut BatchCache>,
) -> Result<Option<Arc<[Tariff]>>, CoreError> {
    let compile = |list: &[RawTariff<'_>]| -> Result<Arc<[Tariff]>, CoreError> {
        list.iter()
            .enumerate()
            .map(|(i, t)| Tariff::compile(t, object, &format!("tariffs[{i}].")))
            .collect()
    };
    let Some(text) = raw.tariffs_text else {
        return raw.tariffs.as_deref().map(compile).transpose();
    };
    if let Some(hit) = cache.as_ref().and_then(|c| c.compiled.get(text)) {
        return Ok(Some(Arc::clone(hit)));
    }
    let list: Vec<RawTariff<'_>> = match serde_json::from_str(text) {
        Ok(list) => list,
        // serde refuses them: decoding the whole input again words the error with its field path.
        Err(_) => decode::<RawUsage<'_>>(object, bytes)?.tariffs.unwrap_or_default(),
    };
    let compiled = compile(&list)?;
    if let Some(cache) = cache {
        if cache.compiled.len() >= EMBEDDED_CACHE_SIZE {
            cache.compiled.clear();
        }
        cache.compiled.insert(text.into(), Arc::clone(&compiled));
    }
    Ok(Some(compiled))
}

/// The Location's zone: `tz` if given, else the CDR's `cdr_location.time_zone` (not in 2.2.1, sent by some
/// peers), else UTC — but only when no restriction depends on local time (reading "zone when it matters":
/// pricing a time-of-day tariff in a guessed zone would silently misprice, so that is an error).
pub(super) fn zone(
    tz: Option<&str>,
    location: Option<&str>,
    needs_local: bool,
    cache: Option<&mut Vec<(Box<str>, Tz)>>,
) -> Result<(Tz, &'static str), CoreError> {
    let parse = |name: &str, field: &'static str| {
        if let Some(&(_, zone)) = cache
            .as_ref()
            .and_then(|c| c.iter().find(|(known, _)| **known == *name))
        {
            return Ok(zone);
        }
        let zone = name.parse::<Tz>().map_err(|_| CoreError::UnknownTimeZone {
            field,
            name: name.chars().take(64).collect(),
        })?;
        if let Some(cache) = cache {
            if cache.len() < ZONE_CACHE_SIZE {
                cache.push((name.into(), zone));
            }
        }
        Ok(zone)
    };
    match (tz, location) {
        (Some(name), _) => Ok((parse(name, "tz")?, "explicit")),
        (None, Some(name)) => Ok((parse(name, "cdr_location.time_zone")?, "cdr_location")),
        (None, None) if needs_local => Err(CoreError::TimeZoneRequired),
        (None, None) => Ok((Tz::UTC, "default")),
    }
}
