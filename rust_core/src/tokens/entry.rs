//! One cached token, compact: what authorisation needs and what answering needs, no JSON.
//!
//! An [`Entry`] is 56 bytes plus one small heap block (`blob`) holding the strings that are unique per
//! token: uid, `contract_id`, `visual_number` and the energy contract id, each prefixed by its length.
//! Strings that repeat across tokens (owner party, issuer, group id, language, energy supplier) are
//! [`Sym`]s into the shard's [`Pool`]. Enums are one byte each, `valid` a bool, `last_updated` an i64
//! of microseconds. A contract-id prefix is not pooled: a 4-byte symbol would save one byte at best.

use std::hash::BuildHasher;

use crate::tokens::model::{write_datetime, ProfileType, TokenType, WhitelistType};
use crate::tokens::parse::{TokenRecord, UID_MAX};
use crate::tokens::pool::{Pool, Sym, NO_SYM};

/// Separates country code and party id in the pooled owner name (never valid in a `CiString`).
pub(crate) const PARTY_SEPARATOR: u8 = 0x1f;

const HAS_VISUAL: u8 = 1;
const HAS_ENERGY_CONTRACT_ID: u8 = 2;
const HAS_ENERGY_CONTRACT: u8 = 4;

/// A token as the cache keeps it.
pub(crate) struct Entry {
    blob: Box<[u8]>,
    /// Microseconds since the Unix epoch, UTC.
    pub(crate) last_updated: i64,
    /// The owner as pooled `CC\x1fPID`, upper-case.
    pub(crate) party: Sym,
    issuer: Sym,
    group: Sym,
    language: Sym,
    supplier: Sym,
    pub(crate) kind: TokenType,
    pub(crate) whitelist: WhitelistType,
    pub(crate) valid: bool,
    profile: Option<ProfileType>,
    flags: u8,
}

/// A cached token with its strings resolved, borrowed from the entry and its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenView<'a> {
    pub(crate) country_code: &'a str,
    pub(crate) party_id: &'a str,
    pub(crate) uid: &'a str,
    pub(crate) kind: TokenType,
    pub(crate) contract_id: &'a str,
    pub(crate) visual_number: Option<&'a str>,
    pub(crate) issuer: &'a str,
    pub(crate) group_id: Option<&'a str>,
    pub(crate) valid: bool,
    pub(crate) whitelist: WhitelistType,
    pub(crate) language: Option<&'a str>,
    pub(crate) default_profile_type: Option<ProfileType>,
    pub(crate) energy_contract: Option<(&'a str, Option<&'a str>)>,
    pub(crate) last_updated: i64,
}

/// The owner party as pooled: upper-case country code, separator, upper-case party id.
#[derive(Clone, Copy)]
pub(crate) struct PartyName {
    buf: [u8; 6],
    len: usize,
}

impl PartyName {
    /// The owner name of `country_code` and `party_id`; `None` when they are too long to be any owner.
    pub(crate) fn new(country_code: &str, party_id: &str) -> Option<Self> {
        let (cc, pid) = (country_code.as_bytes(), party_id.as_bytes());
        if cc.len() > 2 || pid.len() > 3 {
            return None;
        }
        let mut buf = [0_u8; 6];
        let mut len = 0;
        for byte in cc.iter().chain(&[PARTY_SEPARATOR]).chain(pid) {
            *buf.get_mut(len)? = byte.to_ascii_uppercase();
            len += 1;
        }
        Some(Self { buf, len })
    }

    /// The pooled form, `CC\x1fPID`.
    pub(crate) fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

/// The hash of a token key: its uid, upper-cased (`CiString`), and its type. The owner is left out on
/// purpose, so that the tokens of every party with the same uid and type share one probe sequence:
/// that is the uid index behind `lookup_any`, at no memory cost. `None` when the uid is too long.
pub(crate) fn key_hash(hasher: &impl BuildHasher, uid: &str, kind: TokenType) -> Option<u64> {
    let bytes = uid.as_bytes();
    if bytes.len() > UID_MAX {
        return None;
    }
    let mut buf = [0_u8; UID_MAX + 1];
    let slot = buf.get_mut(..bytes.len())?;
    for (to, from) in slot.iter_mut().zip(bytes) {
        *to = from.to_ascii_uppercase();
    }
    *buf.get_mut(bytes.len())? = kind as u8;
    Some(hasher.hash_one(buf.get(..=bytes.len())?))
}

/// The heap bytes a block of `len` bytes costs with a typical malloc (16-byte steps, 8 bytes of header).
pub(crate) fn heap_size(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len + 8).div_ceil(16).max(2) * 16
    }
}

fn push_text(blob: &mut Vec<u8>, text: &str) {
    // Lengths below 128 take one byte, longer ones (up to 64 characters of UTF-8) two.
    let len = text.len();
    if len < 0x80 {
        blob.push(len as u8);
    } else {
        blob.push(0x80 | (len & 0x7f) as u8);
        blob.push((len >> 7) as u8);
    }
    blob.extend_from_slice(text.as_bytes());
}

/// Reads the strings of a blob in order; yields "" past its end (never happens for blobs we built).
struct BlobReader<'a> {
    rest: &'a [u8],
}

impl<'a> BlobReader<'a> {
    fn next_text(&mut self) -> &'a str {
        let (len, skip) = match self.rest {
            [first, second, ..] if first & 0x80 != 0 => (usize::from(first & 0x7f) | usize::from(*second) << 7, 2),
            [first, ..] => (usize::from(*first), 1),
            [] => return "",
        };
        let text = self.rest.get(skip..skip + len).unwrap_or_default();
        self.rest = self.rest.get(skip + len..).unwrap_or_default();
        std::str::from_utf8(text).unwrap_or("")
    }
}

impl Entry {
    /// Builds the entry of a validated token, pooling its repeated strings in `pool`.
    pub(crate) fn new(record: &TokenRecord<'_>, party: Sym, pool: &mut Pool) -> Self {
        let energy = record.energy_contract.as_ref();
        let energy_id = energy.and_then(|e| e.contract_id.as_deref());
        let mut blob = Vec::with_capacity(
            4 + record.uid.len()
                + record.contract_id.len()
                + record.visual_number.as_ref().map_or(0, |v| v.len() + 1)
                + energy_id.map_or(0, |v| v.len() + 1),
        );
        push_text(&mut blob, &record.uid);
        push_text(&mut blob, &record.contract_id);
        let mut flags = 0;
        if let Some(visual) = &record.visual_number {
            push_text(&mut blob, visual);
            flags |= HAS_VISUAL;
        }
        if let Some(id) = energy_id {
            push_text(&mut blob, id);
            flags |= HAS_ENERGY_CONTRACT_ID;
        }
        if energy.is_some() {
            flags |= HAS_ENERGY_CONTRACT;
        }
        Self {
            blob: blob.into_boxed_slice(),
            last_updated: record.last_updated,
            party,
            issuer: pool.intern(&record.issuer),
            group: pool.intern_opt(record.group_id.as_deref()),
            language: pool.intern_opt(record.language.as_deref()),
            supplier: pool.intern_opt(energy.map(|e| &*e.supplier_name)),
            kind: record.kind,
            whitelist: record.whitelist,
            valid: record.valid,
            profile: record.default_profile_type,
            flags,
        }
    }

    /// Renames the pooled strings, for an entry built against another pool.
    pub(crate) fn remap(&mut self, mut rename: impl FnMut(Sym) -> Sym) {
        for sym in [
            &mut self.party,
            &mut self.issuer,
            &mut self.group,
            &mut self.language,
            &mut self.supplier,
        ] {
            if *sym != NO_SYM {
                *sym = rename(*sym);
            }
        }
    }

    /// The uid as the eMSP last sent it.
    pub(crate) fn uid(&self) -> &str {
        BlobReader { rest: &self.blob }.next_text()
    }

    /// Whether this entry has the key (`party` as pooled, `uid` compared without case).
    pub(crate) fn matches(&self, pool: &Pool, party: &str, uid: &str, kind: TokenType) -> bool {
        self.kind == kind && self.uid().eq_ignore_ascii_case(uid) && pool.get(self.party) == party
    }

    /// The heap bytes of this entry beyond its slot in the table.
    pub(crate) fn heap_bytes(&self) -> usize {
        heap_size(self.blob.len())
    }

    /// The token with its strings resolved.
    pub(crate) fn view<'a>(&'a self, pool: &'a Pool) -> TokenView<'a> {
        let mut reader = BlobReader { rest: &self.blob };
        let uid = reader.next_text();
        let contract_id = reader.next_text();
        let visual_number = (self.flags & HAS_VISUAL != 0).then(|| reader.next_text());
        let energy_id = (self.flags & HAS_ENERGY_CONTRACT_ID != 0).then(|| reader.next_text());
        let party = pool.get(self.party);
        let (country_code, party_id) = party.split_once(char::from(PARTY_SEPARATOR)).unwrap_or((party, ""));
        TokenView {
            country_code,
            party_id,
            uid,
            kind: self.kind,
            contract_id,
            visual_number,
            issuer: pool.get(self.issuer),
            group_id: pool.get_opt(self.group),
            valid: self.valid,
            whitelist: self.whitelist,
            language: pool.get_opt(self.language),
            default_profile_type: self.profile,
            energy_contract: (self.flags & HAS_ENERGY_CONTRACT != 0).then(|| (pool.get(self.supplier), energy_id)),
            last_updated: self.last_updated,
        }
    }
}

/// Writes `text` as a JSON string.
fn write_str(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, text).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

impl TokenView<'_> {
    /// Writes the token as OCPI Token JSON, fields in the spec's order, optional ones only when set.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        let field = |out: &mut Vec<u8>, name: &str, value: &str| {
            out.extend_from_slice(name.as_bytes());
            write_str(out, value);
        };
        field(out, "{\"country_code\":", self.country_code);
        field(out, ",\"party_id\":", self.party_id);
        field(out, ",\"uid\":", self.uid);
        field(out, ",\"type\":", self.kind.as_str());
        field(out, ",\"contract_id\":", self.contract_id);
        if let Some(value) = self.visual_number {
            field(out, ",\"visual_number\":", value);
        }
        field(out, ",\"issuer\":", self.issuer);
        if let Some(value) = self.group_id {
            field(out, ",\"group_id\":", value);
        }
        out.extend_from_slice(if self.valid {
            b",\"valid\":true"
        } else {
            b",\"valid\":false"
        });
        field(out, ",\"whitelist\":", self.whitelist.as_str());
        if let Some(value) = self.language {
            field(out, ",\"language\":", value);
        }
        if let Some(value) = self.default_profile_type {
            field(out, ",\"default_profile_type\":", value.as_str());
        }
        if let Some((supplier, contract_id)) = self.energy_contract {
            field(out, ",\"energy_contract\":{\"supplier_name\":", supplier);
            if let Some(value) = contract_id {
                field(out, ",\"contract_id\":", value);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b",\"last_updated\":\"");
        write_datetime(out, self.last_updated);
        out.extend_from_slice(b"\"}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::parse::parse_token;

    const FULL: &str = r#"{"country_code":"de","party_id":"Tnm","uid":"12345678905880","type":"RFID","contract_id":"DE8ACC12E46L89","visual_number":"DF000-2001-8999-1","issuer":"The \"New\" Motion","group_id":"DF000-2001-8999","valid":true,"whitelist":"ALLOWED","language":"it","default_profile_type":"GREEN","energy_contract":{"supplier_name":"Greenpeace Energy eG","contract_id":"0123456789"},"last_updated":"2018-12-10T17:25:10Z"}"#;

    fn stored(json: &str) -> (Entry, Pool) {
        let record = parse_token(json.as_bytes()).unwrap();
        let mut pool = Pool::default();
        let party = pool.intern(PartyName::new(&record.country_code, &record.party_id).unwrap().as_str());
        (Entry::new(&record, party, &mut pool), pool)
    }

    #[test]
    fn entry_renders_the_token_it_was_built_from_with_upper_case_owner() {
        let (entry, pool) = stored(FULL);
        let mut out = Vec::new();
        entry.view(&pool).write_json(&mut out);
        let expected = FULL.replace("\"de\"", "\"DE\"").replace("\"Tnm\"", "\"TNM\"");
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert!(entry.matches(
            &pool,
            PartyName::new("DE", "tnm").unwrap().as_str(),
            "12345678905880",
            TokenType::Rfid
        ));
        assert!(!entry.matches(&pool, "DE\x1fTNM", "12345678905880", TokenType::AppUser));
    }

    #[test]
    fn minimal_token_keeps_optional_fields_absent_and_entry_stays_small() {
        let minimal = r#"{"country_code":"DE","party_id":"TNM","uid":"bdf21bce","type":"APP_USER","contract_id":"DE8ACC12E46L89","issuer":"TheNewMotion","valid":false,"whitelist":"NEVER","last_updated":"2018-12-10T17:16:15.5"}"#;
        let (entry, pool) = stored(minimal);
        let view = entry.view(&pool);
        assert_eq!(
            (view.visual_number, view.group_id, view.language, view.energy_contract),
            (None, None, None, None)
        );
        let mut out = Vec::new();
        view.write_json(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), minimal.replace("15.5", "15.5Z"));
        assert!(size_of::<Entry>() <= 56);
    }

    #[test]
    fn long_utf8_text_roundtrips_through_the_blob() {
        let visual = "é".repeat(64);
        let json = FULL.replace("DF000-2001-8999-1", &visual);
        let (entry, pool) = stored(&json);
        assert_eq!(entry.view(&pool).visual_number, Some(visual.as_str()));
    }

    #[test]
    fn key_hash_ignores_case_and_refuses_overlong_uids() {
        let hasher = hashbrown::DefaultHashBuilder::default();
        assert_eq!(
            key_hash(&hasher, "abc", TokenType::Rfid),
            key_hash(&hasher, "ABC", TokenType::Rfid)
        );
        assert_ne!(
            key_hash(&hasher, "abc", TokenType::Rfid),
            key_hash(&hasher, "abc", TokenType::Other)
        );
        assert_eq!(key_hash(&hasher, &"x".repeat(37), TokenType::Rfid), None);
        assert!(PartyName::new("NLD", "TNM").is_none());
    }
}
