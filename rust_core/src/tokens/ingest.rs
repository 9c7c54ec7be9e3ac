//! Bulk ingest into the store: NDJSON Tokens validated like a PUT, each one's store key, `last_updated`
//! and JSON written the way msgspec writes the Python `Token` model, grouped by owner.
//!
//! The store, not the cache, is the target here: owners and uids keep the case the eMSP sent in the JSON
//! (the key is upper-cased), optional fields that are absent or `null` are left out, unknown fields are
//! dropped, and a `DateTime` is written in UTC with `Z` and six fraction digits when it has any. Bad
//! lines are returned with their number and error; the good ones do not depend on them.

use hashbrown::HashMap;

use crate::errors::CoreError;
use crate::tokens::entry::needs_escape;
use crate::tokens::model::ProfileType;
use crate::tokens::parse::{parse_token, TokenRecord};
use crate::tokens::render::escape;

/// The good tokens of one owner, in the order of their lines, column by column.
#[derive(Debug, Default)]
pub(crate) struct OwnerTokens {
    /// Country code, upper-cased.
    pub(crate) country_code: String,
    /// Party id, upper-cased.
    pub(crate) party_id: String,
    /// The line number of each token.
    pub(crate) lines: Vec<usize>,
    /// Each token's id in the store: `TYPE:UID`, the uid upper-cased.
    pub(crate) ids: Texts,
    /// Each token's `last_updated`, in microseconds since the Unix epoch.
    pub(crate) micros: Vec<i64>,
    /// Each token's JSON.
    pub(crate) json: Texts,
}

/// Many byte strings in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Texts {
    /// Ends the current string (the bytes appended since the previous end).
    fn end(&mut self) {
        self.ends.push(self.bytes.len());
    }

    /// The strings, in order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        (0..self.ends.len()).map(|i| {
            let start = i
                .checked_sub(1)
                .and_then(|before| self.ends.get(before))
                .copied()
                .unwrap_or(0);
            let end = self.ends.get(i).copied().unwrap_or(start);
            self.bytes.get(start..end).unwrap_or_default()
        })
    }
}

/// What [`validate_lines`] found.
#[derive(Debug, Default)]
pub(crate) struct Validated {
    /// The good tokens, one entry per owner, in the order owners first appear.
    pub(crate) owners: Vec<OwnerTokens>,
    /// The bad lines: their number and why, in line order.
    pub(crate) rejected: Vec<(usize, CoreError)>,
}

/// Validates every non-blank line of NDJSON as an OCPI Token; lines are numbered from `first_line`.
pub(crate) fn validate_lines(bytes: &[u8], first_line: usize) -> Validated {
    let mut validated = Validated::default();
    let mut owner_at: HashMap<(String, String), usize> = HashMap::new();
    for (number, line) in (first_line..).zip(bytes.split(|b| *b == b'\n')) {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let record = match parse_token(line) {
            Ok(record) => record,
            Err(error) => {
                validated.rejected.push((number, error));
                continue;
            }
        };
        let owner = (
            record.country_code.to_ascii_uppercase(),
            record.party_id.to_ascii_uppercase(),
        );
        let at = *owner_at.entry(owner).or_insert_with_key(|(country_code, party_id)| {
            validated.owners.push(OwnerTokens {
                country_code: country_code.clone(),
                party_id: party_id.clone(),
                ..OwnerTokens::default()
            });
            validated.owners.len() - 1
        });
        if let Some(tokens) = validated.owners.get_mut(at) {
            tokens.push(number, &record);
        }
    }
    validated
}

impl OwnerTokens {
    fn push(&mut self, line: usize, record: &TokenRecord<'_>) {
        self.lines.push(line);
        self.ids.bytes.extend_from_slice(record.kind.as_str().as_bytes());
        self.ids.bytes.push(b':');
        self.ids
            .bytes
            .extend(record.uid.bytes().map(|b| b.to_ascii_uppercase()));
        self.ids.end();
        self.micros.push(record.last_updated);
        write_json(&mut self.json.bytes, record);
        self.json.end();
    }
}

/// Writes the inside of a JSON string.
fn text(out: &mut Vec<u8>, value: &str) {
    if needs_escape(value.as_bytes()) {
        escape(out, value.as_bytes());
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

/// Writes `,"name":"value"` when the value is present.
fn optional(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":\"");
        text(out, value);
        out.push(b'"');
    }
}

/// Writes a token as msgspec writes the Python `Token` model: fields in the model's order.
fn write_json(out: &mut Vec<u8>, record: &TokenRecord<'_>) {
    out.extend_from_slice(b"{\"country_code\":\"");
    text(out, &record.country_code);
    out.extend_from_slice(b"\",\"party_id\":\"");
    text(out, &record.party_id);
    out.extend_from_slice(b"\",\"uid\":\"");
    text(out, &record.uid);
    out.extend_from_slice(b"\",\"type\":\"");
    out.extend_from_slice(record.kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"contract_id\":\"");
    text(out, &record.contract_id);
    out.push(b'"');
    optional(out, "visual_number", record.visual_number.as_deref());
    out.extend_from_slice(b",\"issuer\":\"");
    text(out, &record.issuer);
    out.push(b'"');
    optional(out, "group_id", record.group_id.as_deref());
    out.extend_from_slice(if record.valid {
        b",\"valid\":true,\"whitelist\":\""
    } else {
        b",\"valid\":false,\"whitelist\":\""
    });
    out.extend_from_slice(record.whitelist.as_str().as_bytes());
    out.push(b'"');
    optional(out, "language", record.language.as_deref());
    optional(
        out,
        "default_profile_type",
        record.default_profile_type.map(ProfileType::as_str),
    );
    if let Some(contract) = &record.energy_contract {
        out.extend_from_slice(b",\"energy_contract\":{\"supplier_name\":\"");
        text(out, &contract.supplier_name);
        out.push(b'"');
        optional(out, "contract_id", contract.contract_id.as_deref());
        out.push(b'}');
    }
    out.extend_from_slice(b",\"last_updated\":\"");
    write_datetime(out, record.last_updated);
    out.extend_from_slice(b"\"}");
}

/// Writes microseconds since the epoch as msgspec writes an aware UTC `datetime`:
/// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, six fraction digits when the microseconds are not zero.
fn write_datetime(out: &mut Vec<u8>, micros: i64) {
    use chrono::{Datelike, Timelike};

    let Some(moment) = chrono::DateTime::from_timestamp_micros(micros) else {
        return; // parsed dates have years 1 to 9999, always in range
    };
    let (date, time) = (moment.date_naive(), moment.time());
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let fields = [
        (0..4, date.year().unsigned_abs()),
        (5..7, date.month()),
        (8..10, date.day()),
        (11..13, time.hour()),
        (14..16, time.minute()),
        (17..19, time.second()),
        (20..26, time.nanosecond() / 1000),
    ];
    for (range, value) in fields {
        put_digits(text.get_mut(range).unwrap_or_default(), value);
    }
    if time.nanosecond() / 1000 == 0 {
        out.extend_from_slice(text.get(..19).unwrap_or_default());
        out.push(b'Z');
    } else {
        out.extend_from_slice(&text);
    }
}

/// Writes the last `slot.len()` decimal digits of `value` into `slot`.
fn put_digits(slot: &mut [u8], mut value: u32) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"country_code":"de","party_id":"Tnm","uid":"12345678905880","type":"RFID","contract_id":"DE8ACC12E46L89","visual_number":"DF000-2001-8999-1","issuer":"TheNewMotion","group_id":"DF000-2001-8999","valid":true,"whitelist":"ALLOWED","language":"it","default_profile_type":"GREEN","energy_contract":{"supplier_name":"Greenpeace Energy eG","contract_id":"0123456789"},"last_updated":"2018-12-10T17:25:10Z"}"#;

    fn one(line: &str) -> (String, String, String, i64, String) {
        let validated = validate_lines(line.as_bytes(), 1);
        assert!(validated.rejected.is_empty(), "{:?}", validated.rejected);
        let owner = validated.owners.first().unwrap();
        let id = String::from_utf8(owner.ids.iter().next().unwrap().to_vec()).unwrap();
        let json = String::from_utf8(owner.json.iter().next().unwrap().to_vec()).unwrap();
        (
            owner.country_code.clone(),
            owner.party_id.clone(),
            id,
            owner.micros[0],
            json,
        )
    }

    #[test]
    fn a_canonical_token_is_written_back_unchanged_with_an_upper_case_key() {
        let (country_code, party_id, id, micros, json) = one(FULL);
        assert_eq!((country_code.as_str(), party_id.as_str()), ("DE", "TNM"));
        assert_eq!(id, "RFID:12345678905880");
        assert_eq!(micros, 1_544_462_710_000_000);
        assert_eq!(json, FULL);
    }

    #[test]
    fn unknown_fields_nulls_and_date_forms_are_normalised() {
        let line = r#"{"extra":[1,{"a":2}],"last_updated":"2018-12-10 17:25:10.5+00:00","valid":false,
            "whitelist":"NEVER","issuer":"I \"Q\" \\","contract_id":"c1","type":"APP_USER","uid":"ab",
            "party_id":"p1","country_code":"nl","group_id":null,"language":null,
            "energy_contract":{"supplier_name":"S","contract_id":null}}"#
            .replace('\n', "");
        let (_, _, id, micros, json) = one(&line);
        assert_eq!(id, "APP_USER:AB");
        assert_eq!(micros % 1_000_000, 500_000);
        assert_eq!(
            json,
            r#"{"country_code":"nl","party_id":"p1","uid":"ab","type":"APP_USER","contract_id":"c1","issuer":"I \"Q\" \\","valid":false,"whitelist":"NEVER","energy_contract":{"supplier_name":"S"},"last_updated":"2018-12-10T17:25:10.500000Z"}"#
        );
    }

    #[test]
    fn dates_are_written_with_four_digit_years_and_six_fraction_digits() {
        for (text, written) in [
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
            ("0999-12-31T23:59:59.000001", "0999-12-31T23:59:59.000001Z"),
            ("2024-02-29t12:00:00.1234565z", "2024-02-29T12:00:00.123457Z"),
            ("9999-12-31T23:59:59.9999994Z", "9999-12-31T23:59:59.999999Z"),
        ] {
            let (_, _, _, _, json) = one(&FULL.replace("2018-12-10T17:25:10Z", text));
            assert!(json.ends_with(&format!("\"last_updated\":\"{written}\"}}")), "{json}");
        }
    }

    #[test]
    fn bad_lines_are_returned_with_their_number_and_good_ones_grouped_by_owner() {
        let other = FULL.replace(r#""Tnm""#, r#""ABC""#);
        let text = [
            FULL,
            "",
            "not json",
            &other,
            &FULL.replace("12345678905880", ""),
            &FULL.replace("12345678905880", "second"),
            "  \r",
        ]
        .join("\n");
        let validated = validate_lines(text.as_bytes(), 10);
        let rejected: Vec<_> = validated.rejected.iter().map(|(n, e)| (*n, e.to_string())).collect();
        assert_eq!(rejected[0].0, 12);
        assert!(rejected[0].1.starts_with("Invalid token JSON"), "{}", rejected[0].1);
        assert_eq!(rejected[1], (14, "Field `uid` is empty".to_owned()));
        assert_eq!(rejected.len(), 2);
        let owners: Vec<_> = validated
            .owners
            .iter()
            .map(|o| (o.party_id.as_str(), o.lines.clone(), o.ids.iter().len()))
            .collect();
        assert_eq!(owners, [("TNM", vec![10, 15], 2), ("ABC", vec![13], 1)]);
        let ids: Vec<_> = validated.owners[0].ids.iter().collect();
        assert_eq!(ids, [b"RFID:12345678905880".as_slice(), b"RFID:SECOND"]);
    }

    #[test]
    fn empty_input_has_nothing() {
        let validated = validate_lines(b"", 1);
        assert!(validated.owners.is_empty() && validated.rejected.is_empty());
        assert_eq!(Texts::default().iter().len(), 0);
    }
}
