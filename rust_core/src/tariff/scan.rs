//! A fast reader of the CDR and Session fields pricing needs, for the common case.
//!
//! The charging periods are read straight into the timeline's periods (no intermediate lists of dimensions);
//! a period the timeline would refuse (bad date, unknown type, negative volume...) makes this reader give up
//! too, so that serde's reading and the timeline word the error with its field path.
//!
//! serde's derived reader spends most of a batch's time on the fields pricing skips (`cdr_token`,
//! `cdr_location`, totals...). This reader walks the JSON once, borrows what it keeps, and skips the rest
//! with a strict grammar check. It never decides that input is invalid: anything outside the plain
//! common shape (escapes in strings, a duplicate field, a missing field, a wrong type, JSON it does not
//! fully understand) makes it give up with `None`, and the serde reader then decodes the input and writes
//! the error. When it does return a value, that value equals what serde would have produced (tested below
//! and against recorded results).

// `Option<Option<T>>` throughout: the outer `None` means "give up, serde decides"; the inner one is a JSON null.
#![allow(clippy::option_option)]
// The byte-level primitives must inline into the loops that call them; callgrind shows up to 10% more
// instructions for the whole of pricing when the compiler decides otherwise.
#![allow(clippy::inline_always)]

use std::borrow::Cow;

use chrono::DateTime;

use rust_decimal::Decimal;

use super::money::{parse_number, plain_prefix};
use super::timeline::{parse_datetime, Period};
use super::wire::{RawCdrLocation, RawUsage};

/// Bytes that end the plain part of a string: the closing quote, an escape, a control character.
const STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// How many bytes at the start of `bytes` are none of [`STOP`], eight at a time.
///
/// Per 8-byte word, the classic bit tricks flag bytes below 0x20 and bytes equal to `"` or `\\`; a flag can
/// be wrong only above a true one (a borrow runs upwards), so the lowest flag is exactly the first stop byte.
#[inline(always)]
fn plain_len(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let flags = below(w, 0x20) | below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1);
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes.get(at..).map_or(0, |rest| {
        rest.iter().position(|&b| STOP[usize::from(b)]).unwrap_or(rest.len())
    })
}

/// Deeper nesting than this in skipped values is left to serde (whose own limit is 128).
const MAX_DEPTH: u32 = 100;

/// Reads a CDR or Session, or `None` when serde must decide. `periods`: an empty buffer for the periods.
pub(crate) fn usage<'a>(bytes: &'a [u8], periods: Vec<Period<'a>>) -> Option<RawUsage<'a>> {
    // serde checks UTF-8 only in the strings it keeps; checking it all at once keeps this reader simple.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut scanner = Scanner {
        text,
        at: 0,
        periods: Some(periods),
    };
    let usage = scanner.usage()?;
    scanner.space();
    (scanner.at == text.len()).then_some(usage)
}

/// The first byte at or after `at` that is not JSON whitespace.
#[inline(always)]
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    // Compact JSON has no spaces at all: one comparison settles the usual case.
    while bytes
        .get(at)
        .is_some_and(|&b| b <= b' ' && matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
    {
        at += 1;
    }
    at
}

/// Where a string without escapes or control characters ends (after its closing quote); `start` is just
/// after its opening quote.
#[inline(always)]
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let rest = bytes.get(start..)?;
    let len = plain_len(rest);
    (rest.get(len) == Some(&b'"')).then_some(start + len + 1)
}

/// Where a JSON number starting at `at` ends (RFC 8259 grammar), or `None` if there is none.
#[inline(always)]
fn number_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    let digits = |mut at: usize| {
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        at
    };
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    at = match bytes.get(at)? {
        b'0' => at + 1,
        b'1'..=b'9' => digits(at + 1),
        _ => return None,
    };
    if bytes.get(at) == Some(&b'.') {
        let end = digits(at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let end = digits(at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

/// `true`, `false` or `null` at `at`: where it ends.
#[inline(always)]
fn literal_end(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    bytes.get(at..)?.starts_with(word).then_some(at + word.len())
}

/// `"name":` of a member, starting at `at` (spaces allowed around): where it ends.
#[inline(always)]
fn member_name_end(bytes: &[u8], at: usize) -> Option<usize> {
    let at = skip_space(bytes, at);
    let at = string_end(bytes, (bytes.get(at) == Some(&b'"')).then_some(at + 1)?)?;
    let at = skip_space(bytes, at);
    (bytes.get(at) == Some(&b':')).then_some(at + 1)
}

/// Skips the value at `at` (after spaces), checking its grammar; returns where it ends. At most `limit`
/// containers deep (deeper input is left to serde).
///
/// One loop over plain indices with the open containers kept as bits (1 = object), rather than a call per
/// nested value: a CDR is mostly fields pricing skips (`cdr_token`, `cdr_location`, totals).
fn skip_value(bytes: &[u8], mut at: usize, limit: u32) -> Option<usize> {
    let (mut open, mut objects) = (0u32, 0u128);
    loop {
        // A value.
        at = skip_space(bytes, at);
        match *bytes.get(at)? {
            b'"' => at = string_end(bytes, at + 1)?,
            first @ (b'{' | b'[') => {
                let close = if first == b'{' { b'}' } else { b']' };
                let inner = skip_space(bytes, at + 1);
                if bytes.get(inner) == Some(&close) {
                    at = inner + 1;
                } else {
                    open += 1;
                    if open > limit {
                        return None;
                    }
                    if first == b'{' {
                        objects |= 1 << open;
                        at = member_name_end(bytes, inner)?;
                    } else {
                        objects &= !(1 << open);
                        at = inner;
                    }
                    continue;
                }
            }
            b't' => at = literal_end(bytes, at, b"true")?,
            b'f' => at = literal_end(bytes, at, b"false")?,
            b'n' => at = literal_end(bytes, at, b"null")?,
            _ => at = number_end(bytes, at)?,
        }
        // What follows it: the next member or element, or the end of containers.
        loop {
            if open == 0 {
                return Some(at);
            }
            let in_object = objects & (1 << open) != 0;
            at = skip_space(bytes, at);
            match *bytes.get(at)? {
                b',' if in_object => {
                    at = member_name_end(bytes, at + 1)?;
                    break;
                }
                b',' => {
                    at += 1;
                    break;
                }
                b'}' if in_object => open -= 1,
                b']' if !in_object => open -= 1,
                _ => return None,
            }
            at += 1;
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
    /// The buffer the periods are read into (taken when they are).
    periods: Option<Vec<Period<'a>>>,
}

/// A field seen at most once: a second occurrence is serde's "duplicate field" error.
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

impl<'a> Scanner<'a> {
    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    #[inline(always)]
    fn space(&mut self) {
        // Compact JSON has no spaces at all: one comparison settles the usual case.
        while self
            .peek()
            .is_some_and(|b| b <= b' ' && matches!(b, b' ' | b'\n' | b'\t' | b'\r'))
        {
            self.at += 1;
        }
    }

    /// The next non-space byte, not consumed.
    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        self.space();
        self.peek()
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then(|| self.at += 1)
    }

    /// A string without escapes or control characters; its contents.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let range = self.string_range()?;
        self.text.get(range)
    }

    /// Where the contents of a string without escapes or control characters are (no `str` made of it).
    #[inline(always)]
    fn string_range(&mut self) -> Option<std::ops::Range<usize>> {
        self.eat(b'"')?;
        let start = self.at;
        let rest = self.bytes().get(start..)?;
        let len = plain_len(rest);
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        Some(start..start + len)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.space();
        self.bytes()
            .get(self.at..)?
            .starts_with(word.as_bytes())
            .then(|| self.at += word.len())
    }

    /// `null` (`Some(None)`) or a string.
    fn nullable_string(&mut self) -> Option<Option<&'a str>> {
        if self.next()? == b'n' {
            self.literal("null")?;
            return Some(None);
        }
        self.string().map(Some)
    }

    /// A member name: one of `known` compared in place (cheaper than searching for the closing quote),
    /// else any string.
    #[inline(always)]
    fn key(&mut self, known: &[&'static [u8]]) -> Option<&'a [u8]> {
        self.space();
        if let Some((b'"', tail)) = self.bytes().get(self.at..).and_then(<[u8]>::split_first) {
            for &name in known {
                if tail.starts_with(name) && tail.get(name.len()) == Some(&b'"') {
                    self.at += name.len() + 2;
                    return Some(name);
                }
            }
        }
        let range = self.string_range()?;
        self.bytes().get(range)
    }

    /// Calls `member` with each key of an object; `member` reads the value. `known`: the keys expected
    /// most (see [`Self::key`]).
    fn object(
        &mut self,
        known: &[&'static [u8]],
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.next()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.key(known)?;
            self.eat(b':')?;
            member(self, key)?;
            match self.next()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Calls `item` for each element of an array.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.next()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.next()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Skips one value of any kind, checking its grammar; `depth`: how deeply it is nested already.
    fn skip(&mut self, depth: u32) -> Option<()> {
        self.at = skip_value(self.bytes(), self.at, MAX_DEPTH.checked_sub(depth)?.min(127))?;
        Some(())
    }

    /// The text of the next value (as a `RawValue` holds it).
    fn value_text(&mut self) -> Option<&'a str> {
        self.space();
        let start = self.at;
        self.skip(1)?;
        self.text.get(start..self.at)
    }

    fn usage(&mut self) -> Option<RawUsage<'a>> {
        let (mut start, mut end, mut last_updated, mut currency) = (None, None, None, None);
        let (mut location, mut tariffs, mut periods) = (None, None, None);
        self.object(&[], |s, key| match key {
            b"start_date_time" => once(&mut start, s.string()?),
            b"end_date_time" => once(&mut end, s.nullable_string()?),
            b"last_updated" => once(&mut last_updated, s.nullable_string()?),
            b"currency" => once(&mut currency, s.nullable_string()?),
            b"cdr_location" => once(&mut location, s.location()?),
            b"tariffs" => once(&mut tariffs, s.tariffs()?),
            b"charging_periods" => once(&mut periods, s.periods()?),
            _ => s.skip(1),
        })?;
        let borrowed = |text: Option<Option<&'a str>>| text.flatten().map(Cow::Borrowed);
        Some(RawUsage {
            start_date_time: Cow::Borrowed(start?),
            end_date_time: borrowed(end),
            last_updated: borrowed(last_updated),
            currency: borrowed(currency),
            cdr_location: location.flatten(),
            tariffs: None,
            tariffs_text: tariffs.flatten(),
            charging_periods: None,
            periods_read: periods.flatten(),
        })
    }

    /// `cdr_location`, which pricing reads only for its `time_zone`: one pass over plain indices, skipping
    /// every other member's value with [`skip_value`] (most are plain strings, skipped in place). Its
    /// `time_zone` must still be checked (a string or null, given once), because serde would refuse the CDR
    /// otherwise, even when the zone comes from elsewhere.
    fn location(&mut self) -> Option<Option<RawCdrLocation<'a>>> {
        let (text, bytes) = (self.text, self.bytes());
        let mut at = skip_space(bytes, self.at);
        if bytes.get(at) == Some(&b'n') {
            self.at = literal_end(bytes, at, b"null")?;
            return Some(None);
        }
        if bytes.get(at) != Some(&b'{') {
            return None;
        }
        at = skip_space(bytes, at + 1);
        let mut zone: Option<Option<&'a str>> = None;
        if bytes.get(at) == Some(&b'}') {
            at += 1;
        } else {
            loop {
                let name = at + 1;
                let name_end = string_end(bytes, (bytes.get(at) == Some(&b'"')).then_some(name)?)?;
                at = skip_space(bytes, name_end);
                at = skip_space(bytes, (bytes.get(at) == Some(&b':')).then_some(at + 1)?);
                if bytes.get(name..name_end - 1) == Some(b"time_zone") {
                    let value = if bytes.get(at) == Some(&b'n') {
                        at = literal_end(bytes, at, b"null")?;
                        None
                    } else {
                        let start = (bytes.get(at) == Some(&b'"')).then_some(at + 1)?;
                        at = string_end(bytes, start)?;
                        Some(text.get(start..at - 1)?)
                    };
                    once(&mut zone, value)?;
                } else if bytes.get(at) == Some(&b'"') {
                    at = string_end(bytes, at + 1)?;
                } else {
                    at = skip_value(bytes, at, MAX_DEPTH - 2)?;
                }
                at = skip_space(bytes, at);
                match bytes.get(at)? {
                    b',' => at = skip_space(bytes, at + 1),
                    b'}' => {
                        at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.at = at;
        Some(Some(RawCdrLocation {
            time_zone: zone.flatten().map(Cow::Borrowed),
        }))
    }

    /// Embedded tariffs: only their text, which pricing decodes (or finds compiled already).
    fn tariffs(&mut self) -> Option<Option<&'a str>> {
        let text = self.value_text()?;
        Some((text != "null").then_some(text))
    }

    /// The periods, read as the timeline reads them; any problem gives up (serde and the timeline word it).
    fn periods(&mut self) -> Option<Option<Vec<Period<'a>>>> {
        if self.next()? == b'n' {
            self.literal("null")?;
            return Some(None);
        }
        let mut periods = self.periods.take().unwrap_or_default();
        self.array(|s| {
            periods.push(s.period()?);
            Some(())
        })?;
        Some(Some(periods))
    }

    fn period(&mut self) -> Option<Period<'a>> {
        let (mut start, mut dimensions, mut tariff_id) = (None, None, None);
        self.object(&[b"start_date_time", b"dimensions", b"tariff_id"], |s, key| match key {
            b"start_date_time" => once(&mut start, s.string()?),
            b"dimensions" => {
                // Added to a period that gets its start and tariff below.
                let mut period = Period::new(DateTime::UNIX_EPOCH, None);
                let mut empty = true;
                s.array(|s| {
                    let (kind, volume) = s.dimension()?;
                    empty = false;
                    period.add(kind, volume).ok()
                })?;
                once(&mut dimensions, (!empty).then_some(period)?)
            }
            b"tariff_id" => once(&mut tariff_id, s.nullable_string()?),
            _ => s.skip(3),
        })?;
        let mut period = dimensions?;
        period.start = parse_datetime(start?).ok()?;
        period.tariff_id = tariff_id.flatten();
        period.finish();
        Some(period)
    }

    /// A dimension's type and its volume.
    fn dimension(&mut self) -> Option<(&'a [u8], Decimal)> {
        if let Some(dimension) = self.compact_dimension() {
            return Some(dimension);
        }
        let (mut kind, mut volume) = (None, None);
        self.object(&[b"type", b"volume"], |s, key| match key {
            b"type" => once(&mut kind, s.string()?),
            b"volume" => once(&mut volume, s.value_text()?),
            _ => s.skip(4),
        })?;
        Some((kind?.as_bytes(), parse_number(volume?).ok()?))
    }

    /// `{"type":"NAME","volume":NUMBER}` exactly as compact encoders write it (the usual case), else `None`
    /// with nothing consumed and the general reader takes over.
    #[inline(always)]
    fn compact_dimension(&mut self) -> Option<(&'a [u8], Decimal)> {
        const OPEN: &[u8] = b"{\"type\":\"";
        const MIDDLE: &[u8] = b"\",\"volume\":";
        self.space();
        let (bytes, start) = (self.bytes(), self.at);
        let name_at = start + OPEN.len();
        if !bytes.get(start..name_at)?.eq(OPEN) {
            return None;
        }
        let name_len = plain_len(bytes.get(name_at..)?);
        let volume_at = name_at + name_len + MIDDLE.len();
        if bytes.get(name_at + name_len..volume_at) != Some(MIDDLE) {
            return None;
        }
        // The usual number is read in the pass that finds its end; any other is left to the general reader.
        let (volume, len) = plain_prefix(bytes.get(volume_at..)?)?;
        if bytes.get(volume_at + len) != Some(&b'}') {
            return None;
        }
        self.at = volume_at + len + 1;
        Some((bytes.get(name_at..name_at + name_len)?, volume))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::tariff::timeline::period;
    use crate::tariff::wire::decode;

    const CDR: &str = r#"{"id": "C1", "start_date_time": "2024-01-15T10:00:00Z", "end_date_time": "2024-01-15T11:00:00Z",
        "currency": "EUR", "cdr_token": {"uid": "012", "type": "RFID", "nested": [1, -2.5e3, true, false, null, {}, []]},
        "cdr_location": {"id": "L", "time_zone": "Europe/Berlin", "coordinates": {"latitude": "52.52"}},
        "charging_periods": [
          {"start_date_time": "2024-01-15T10:00:00Z", "tariff_id": "T1",
           "dimensions": [{"type": "ENERGY", "volume": 21.004}, {"volume": 0.5, "type": "TIME"}]},
          {"start_date_time": "2024-01-15T10:30:00", "extra": "x", "dimensions": [{"type": "PARKING_TIME", "volume": 0.5}]}
        ],
        "tariffs": [{"id": "T1", "currency": "EUR", "elements": [{"price_components": [{"type": "TIME", "price": 2.00, "step_size": 1}]}]}],
        "total_cost": {"excl_vat": 0, "incl_vat": 0}, "last_updated": null}"#;

    fn same_as_serde(text: &str) {
        let fast = usage(text.as_bytes(), Vec::new());
        let slow = decode::<RawUsage<'_>>("CDR", text.as_bytes());
        match (fast, slow) {
            (Some(mut fast), Ok(mut slow)) => {
                if let Some(text) = fast.tariffs_text.take() {
                    fast.tariffs = Some(serde_json::from_str(text).expect("tariffs as serde reads them"));
                }
                // The periods as the timeline reads serde's: the scanner keeps only periods it reads without error.
                let periods = slow.charging_periods.take().map(|list| {
                    let read = list
                        .iter()
                        .enumerate()
                        .map(|(i, p)| period(p, i).expect("a valid period"));
                    format!("{:?}", read.collect::<Vec<_>>())
                });
                let read = fast.periods_read.take().map(|list| format!("{list:?}"));
                assert_eq!(read, periods, "{text}");
                assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text}");
            }
            (Some(fast), Err(err)) if fast.tariffs_text.is_some() => {
                // Allowed only when the embedded tariffs are what serde refuses: pricing then decodes again.
                let tariffs = fast.tariffs_text.unwrap_or_default();
                let decoded = serde_json::from_str::<Vec<crate::tariff::wire::RawTariff<'_>>>(tariffs);
                assert!(decoded.is_err(), "{err}: {text}");
            }
            (Some(fast), Err(err)) => panic!("fast read {fast:?} where serde says {err}: {text}"),
            (None, _) => {}
        }
    }

    #[test]
    fn plain_len_finds_the_first_stop_byte() {
        let mut text = Vec::new();
        for stop in [b'"', b'\\', 0x00, 0x1f] {
            for len in 0..40 {
                for filler in [b'a', 0x20, 0x21, 0x5b, 0x7f, 0xc3, 0xff, b'"' + 1, b'\\' - 1] {
                    text.clear();
                    text.extend(std::iter::repeat_n(filler, len));
                    text.push(stop);
                    text.extend_from_slice(b"\"\\\x01tail");
                    assert_eq!(plain_len(&text), len, "{filler} x {len} then {stop}");
                }
            }
        }
        assert_eq!(plain_len(b"no stop at all, longer than eight"), 33);
    }

    #[test]
    fn reads_what_serde_reads() {
        assert!(usage(CDR.as_bytes(), Vec::new()).is_some());
        same_as_serde(CDR);
        same_as_serde(r#"{"start_date_time": "x", "charging_periods": null, "cdr_location": null, "tariffs": null}"#);
        same_as_serde(r#" {"start_date_time": "x", "charging_periods": []} "#);
        same_as_serde(r#"{"start_date_time": "x", "cdr_location": { "a" : [{"time_zone": 1}] , "time_zone" : null }}"#);
        same_as_serde(r#"{"start_date_time": "x", "cdr_location": {}}"#);
        // Embedded tariffs are kept as text; serde refusing them is pricing's to report.
        same_as_serde(r#"{"start_date_time": "a", "tariffs": [{"currency": 1}]}"#);
    }

    #[test]
    fn gives_up_where_serde_must_decide() {
        for text in [
            r#"{"start_date_time": "a", "start_date_time": "b"}"#,
            r#"{"end_date_time": "b"}"#,
            r#"{"start_date_time": "a\n"}"#,
            r#"{"start_date_time": "a", "x": [1,]}"#,
            r#"{"start_date_time": "a", "x": 01}"#,
            r#"{"start_date_time": "a", "x": 1.}"#,
            r#"{"start_date_time": "a", "x": nul}"#,
            r#"{"start_date_time": "a"} x"#,
            r#"{"start_date_time": "a", "charging_periods": [{"start_date_time": "a"}]}"#,
            r#"{"start_date_time": "a", "charging_periods": [{"start_date_time": "a", "dimensions": [{"type": "X"}]}]}"#,
            r#"{"start_date_time": "a", "cdr_location": {"time_zone": "UTC", "time_zone": "UTC"}}"#,
            r#"{"start_date_time": "a", "cdr_location": {"id": "L", "time_zone": 5}}"#,
            r#"{"start_date_time": "a", "cdr_location": {"id": "L",}}"#,
            // Valid JSON that the timeline refuses: its errors are worded from serde's reading.
            r#"{"start_date_time": "a", "charging_periods": [{"start_date_time": "2024-01-15T10:00:00Z", "dimensions": []}]}"#,
            r#"{"start_date_time": "a", "charging_periods": [{"start_date_time": "2024-01-15T10:00:00Z", "dimensions": [{"type": "X", "volume": 1}]}]}"#,
            r#"{"start_date_time": "a", "charging_periods": [{"start_date_time": "2024-01-15T10:00:00Z", "dimensions": [{"type": "TIME", "volume": -1}]}]}"#,
            r#"{"start_date_time": "a", "charging_periods": [{"start_date_time": "2024-01-15T10:00:00Z", "dimensions": [{"type": "TIME", "volume": "1"}]}]}"#,
            r#"{"start_date_time": "a", "charging_periods": [{"start_date_time": "10:00", "dimensions": [{"type": "TIME", "volume": 1}]}]}"#,
            r#"{"start_date_time": 5}"#,
            r#"["a"]"#,
            "{\"start_date_time\": \"a\", \"x\": \"\u{1}\"}",
        ] {
            assert!(usage(text.as_bytes(), Vec::new()).is_none(), "{text}");
        }
        assert!(usage(b"{\"start_date_time\": \"a\", \"x\": \"\xff\"}", Vec::new()).is_none());
    }

    #[test]
    fn every_cut_and_every_byte_agrees_with_serde() {
        let bytes = CDR.as_bytes();
        for cut in 0..bytes.len() {
            if let Ok(text) = std::str::from_utf8(&bytes[..cut]) {
                same_as_serde(text);
            }
            for byte in [b'"', b',', b'}', b']', b'0', b'-', b' ', b'n', b'\\', b'{', b'['] {
                let mut changed = bytes.to_vec();
                changed[cut] = byte;
                if let Ok(text) = std::str::from_utf8(&changed) {
                    same_as_serde(text);
                }
            }
        }
    }
}
