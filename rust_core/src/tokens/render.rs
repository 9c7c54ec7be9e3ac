//! A cached token as OCPI Token JSON: fields in the spec's order, optional ones only when set.
//!
//! Rendering runs for every answered authorisation, so it only copies: field names are constants and
//! strings are copied as stored, escaped only when the record (or pool) says they need it. It writes
//! to any [`Sink`], so the same code measures the exact length ([`Measure`]) and then fills a buffer
//! of that size ([`Fill`]): the binding writes straight into a new Python `bytes` that way, without an
//! intermediate `Vec`.

use crate::tokens::entry::{needs_escape, PARTY_SEPARATOR};
use crate::tokens::model::{DateText, Stamp};
use crate::tokens::pool::{Pool, Sym};
use crate::tokens::record::Record;

/// Where rendered bytes go.
pub(crate) trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);

    /// Appends a `DateTime`.
    #[inline]
    fn date(&mut self, stamp: Stamp) {
        self.put(DateText::of(stamp).as_bytes());
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Counts the bytes instead of keeping them.
#[derive(Default)]
pub(crate) struct Measure(pub(crate) usize);

impl Sink for Measure {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }

    #[inline]
    fn date(&mut self, stamp: Stamp) {
        self.0 += DateText::len_of(stamp);
    }
}

/// Fills a buffer from its start; bytes past its end are dropped (never happens after a [`Measure`]).
pub(crate) struct Fill<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl<'a> Fill<'a> {
    /// Fills `buf`.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, at: 0 }
    }
}

impl Sink for Fill<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        if let Some(to) = self.buf.get_mut(self.at..end) {
            to.copy_from_slice(bytes);
        }
        self.at = end;
    }
}

/// A found token and the pool its symbols name: what rendering needs.
#[derive(Clone, Copy)]
pub(crate) struct Found<'a> {
    pub(crate) record: Record<'a>,
    pub(crate) pool: &'a Pool,
}

impl Found<'_> {
    /// The length of its JSON (kept in the record).
    pub(crate) fn json_len(&self) -> usize {
        self.record.json_len()
    }

    /// Writes its JSON into `buf`, which must be [`Found::json_len`] long.
    pub(crate) fn fill(&self, buf: &mut [u8]) {
        self.write_json(&mut Fill::new(buf));
    }

    /// Its JSON in a new `Vec`.
    pub(crate) fn json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len());
        self.write_json(&mut out);
        out
    }

    /// Writes the token as OCPI Token JSON (the value of every string field ends at the next constant).
    pub(crate) fn write_json(&self, out: &mut impl Sink) {
        let (record, pool) = (self.record, self.pool);
        let inline = !record.needs_escape();
        let texts = record.texts();
        let party = record.owner_name();
        let split = party.iter().position(|b| *b == PARTY_SEPARATOR).unwrap_or(party.len());
        let country_code = party.get(..split).unwrap_or_default();
        let party_id = party.get(split + 1..).unwrap_or_default();
        out.put(b"{\"country_code\":\"");
        text(out, country_code, !needs_escape(country_code));
        out.put(b"\",\"party_id\":\"");
        text(out, party_id, !needs_escape(party_id));
        out.put(b"\",\"uid\":\"");
        text(out, texts.uid, inline);
        out.put(b"\",\"type\":\"");
        out.put(record.kind().as_str().as_bytes());
        out.put(b"\",\"contract_id\":\"");
        text(out, texts.contract_id, inline);
        if let Some(value) = texts.visual_number {
            out.put(b"\",\"visual_number\":\"");
            text(out, value, inline);
        }
        out.put(b"\",\"issuer\":\"");
        text(out, texts.issuer, !record.issuer_needs_escape());
        if let Some(value) = texts.group_id {
            out.put(b"\",\"group_id\":\"");
            text(out, value, inline);
        }
        out.put(if record.valid() {
            b"\",\"valid\":true,\"whitelist\":\""
        } else {
            b"\",\"valid\":false,\"whitelist\":\""
        });
        out.put(record.whitelist().as_str().as_bytes());
        if let Some(value) = texts.language {
            out.put(b"\",\"language\":\"");
            text(out, value, inline);
        }
        if let Some(profile) = record.profile() {
            out.put(b"\",\"default_profile_type\":\"");
            out.put(profile.as_str().as_bytes());
        }
        if let Some(supplier) = record.supplier() {
            out.put(b"\",\"energy_contract\":{\"supplier_name\":\"");
            pooled(out, pool, supplier);
            if let Some(value) = texts.energy_contract_id {
                out.put(b"\",\"contract_id\":\"");
                text(out, value, inline);
            }
            out.put(b"\"},\"last_updated\":\"");
        } else {
            out.put(b"\",\"last_updated\":\"");
        }
        out.date(record.stamp());
        out.put(b"\"}");
    }
}

/// The length of the JSON of `record`, by rendering it into a [`Measure`].
pub(crate) fn measure(record: Record<'_>, pool: &Pool) -> usize {
    let mut measure = Measure::default();
    Found { record, pool }.write_json(&mut measure);
    measure.0
}

/// Writes a pooled string (the pool keeps it escaped).
#[inline]
fn pooled(out: &mut impl Sink, pool: &Pool, sym: Sym) {
    out.put(pool.json(sym));
}

/// Writes the inside of a JSON string: as it is when `plain`, else escaped like `serde_json`.
#[inline]
fn text(out: &mut impl Sink, value: &[u8], plain: bool) {
    if plain {
        out.put(value);
    } else {
        escape(out, value);
    }
}

/// Writes `value` escaped like `serde_json` does inside a JSON string.
#[cold]
pub(crate) fn escape(out: &mut impl Sink, value: &[u8]) {
    let mut start = 0;
    for (i, byte) in value.iter().enumerate() {
        let hex = [
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ];
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..0x20 => &hex,
            _ => continue,
        };
        out.put(value.get(start..i).unwrap_or_default());
        out.put(escape);
        start = i + 1;
    }
    out.put(value.get(start..).unwrap_or_default());
}

const HEX: [u8; 16] = *b"0123456789abcdef";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::entry::tests::{stored, FULL};

    fn render(json: &str) -> String {
        let (bytes, pool) = stored(json);
        let found = Found {
            record: Record::new(&bytes),
            pool: &pool,
        };
        assert_eq!(found.json_len(), measure(found.record, &pool));
        let mut filled = vec![0; found.json_len()];
        found.fill(&mut filled);
        assert_eq!(filled, found.json());
        String::from_utf8(filled).unwrap()
    }

    #[test]
    fn renders_the_token_it_was_built_from_with_upper_case_owner() {
        let expected = FULL.replace("\"de\"", "\"DE\"").replace("\"Tnm\"", "\"TNM\"");
        assert_eq!(render(FULL), expected);
        let no_contract_id = FULL.replace(r#","contract_id":"0123456789""#, "");
        assert!(render(&no_contract_id).contains(r#"{"supplier_name":"Greenpeace Energy eG"},"last_updated""#));
    }

    #[test]
    fn minimal_token_renders_without_optional_fields() {
        let minimal = r#"{"country_code":"DE","party_id":"TNM","uid":"bdf21bce","type":"APP_USER","contract_id":"DE8ACC12E46L89","issuer":"TheNewMotion","valid":false,"whitelist":"NEVER","last_updated":"2018-12-10T17:16:15.5"}"#;
        assert_eq!(render(minimal), minimal.replace("15.5", "15.500000Z"));
    }

    #[test]
    fn escapes_like_serde_json() {
        let json = FULL
            .replace("DE8ACC12E46L89", r#"DE\"8\\"#)
            .replace(r#""Tnm""#, r#""T\"\\""#);
        let rendered = render(&json);
        let value: serde_json::Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(value["contract_id"], r#"DE"8\"#);
        assert_eq!(value["party_id"], r#"T"\"#);
        assert_eq!(rendered, json.replace(r#""de""#, r#""DE""#));
        let mut out = Vec::new();
        text(&mut out, b"a\x01\x08\x0c\n\r\t\x1fz", false);
        assert_eq!(
            out,
            serde_json::to_string("a\x01\x08\x0c\n\r\t\x1fz")
                .unwrap()
                .trim_matches('"')
                .as_bytes()
        );
    }
}
