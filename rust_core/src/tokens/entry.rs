//! One cached token, compact: what authorisation needs and what answering needs, no JSON.
//!
//! A token is a [`Record`]: bytes in its shard's [`Arena`](crate::tokens::arena::Arena), laid out as
//! `record.rs` says. The owner is kept twice: packed in 8 bytes (what lookups compare and answers
//! render) and as a [`Sym`] into the shard's [`Pool`] (what counts tokens per owner); the energy
//! supplier, on few tokens, is pooled too. Issuer, language and `group_id` are kept inline: reading
//! them from the pool cost two cache misses per answer, for a few bytes per token saved. Enums are one
//! byte each, `last_updated` a [`Stamp`](crate::tokens::model::Stamp) (calendar fields in 8 bytes).
//! This file builds records ([`encode`]) and the keys that find them ([`PartyName`], [`key_hash`]).

use std::hash::BuildHasher;

use crate::tokens::model::{Stamp, TokenType};
use crate::tokens::parse::{TokenRecord, UID_MAX};
use crate::tokens::pool::{Pool, Sym, NO_SYM};
use crate::tokens::record::{
    Record, ESCAPE, HAS_ENERGY_CONTRACT, HAS_ENERGY_CONTRACT_ID, HAS_GROUP, HAS_LANGUAGE, HAS_VISUAL, HEADER,
    ISSUER_ESCAPE, JSON_LEN, KIND, LEN, NO_PROFILE, OWNER, PARTY, SUPPLIER, SYMS, UPDATED, VALID,
};
use crate::tokens::render::measure;

/// Separates country code and party id in the pooled owner name (never valid in a `CiString`).
pub(crate) const PARTY_SEPARATOR: u8 = 0x1f;

/// The owner party as pooled: upper-case country code, separator, upper-case party id.
///
/// Packed in 8 bytes: the name (at most 6 bytes), zeros, and its length in the last byte, so that two
/// owners are the same exactly when their packed forms are equal.
#[derive(Clone, Copy)]
pub(crate) struct PartyName {
    buf: [u8; 8],
    len: usize,
}

impl PartyName {
    /// The owner name of `country_code` and `party_id`; `None` when they are too long to be any owner.
    pub(crate) fn new(country_code: &str, party_id: &str) -> Option<Self> {
        let (cc, pid) = (country_code.as_bytes(), party_id.as_bytes());
        if cc.len() > 2 || pid.len() > 3 {
            return None;
        }
        let mut buf = [0_u8; 8];
        let len = cc.len() + 1 + pid.len();
        buf.get_mut(..cc.len())?.copy_from_slice(cc);
        *buf.get_mut(cc.len())? = PARTY_SEPARATOR;
        buf.get_mut(cc.len() + 1..len)?.copy_from_slice(pid);
        buf.make_ascii_uppercase();
        buf[7] = len as u8;
        Some(Self { buf, len })
    }

    /// The packed form, as a record keeps it.
    pub(crate) fn packed(&self) -> u64 {
        u64::from_le_bytes(self.buf)
    }

    /// The pooled form, `CC\x1fPID`.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The pooled form as bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// The hash of a token key: its uid, upper-cased (`CiString`), and its type. The owner is left out on
/// purpose, so that the tokens of every party with the same uid and type share one probe sequence:
/// that is the uid index behind `lookup_any`, at no memory cost. `None` when the uid is too long.
pub(crate) fn key_hash(hasher: &impl BuildHasher, uid: &[u8], kind: TokenType) -> Option<u64> {
    if uid.len() > UID_MAX {
        return None;
    }
    let mut buf = [0_u8; UID_MAX + 1];
    let slot = buf.get_mut(..uid.len())?;
    for (to, from) in slot.iter_mut().zip(uid) {
        *to = from.to_ascii_uppercase();
    }
    *buf.get_mut(uid.len())? = kind as u8;
    Some(hasher.hash_one(buf.get(..=uid.len())?))
}

/// The heap bytes a block of `len` bytes costs with a typical malloc (16-byte steps, 8 bytes of header).
pub(crate) fn heap_size(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len + 8).div_ceil(16).max(2) * 16
    }
}

/// Whether JSON needs an escape in `text`.
pub(crate) fn needs_escape(text: &[u8]) -> bool {
    text.iter().any(|b| *b < 0x20 || *b == b'"' || *b == b'\\')
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    // Lengths below 128 take one byte, longer ones (up to 64 characters of UTF-8) two.
    let len = text.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x80 | (len & 0x7f) as u8);
        out.push((len >> 7) as u8);
    }
    out.extend_from_slice(text.as_bytes());
}

/// Appends the record of a validated token to `out`, pooling its repeated strings in `pool`.
pub(crate) fn encode(record: &TokenRecord<'_>, party: Sym, pool: &mut Pool, out: &mut Vec<u8>) {
    let start = out.len();
    let energy = record.energy_contract.as_ref();
    let energy_id = energy.and_then(|e| e.contract_id.as_deref());
    out.resize(start + HEADER, 0);
    let mut flags = 0;
    let mut text = |out: &mut Vec<u8>, value: &str, flag: u8| {
        push_text(out, value);
        flags |= flag;
        if needs_escape(value.as_bytes()) {
            flags |= ESCAPE;
        }
    };
    text(out, &record.uid, 0);
    text(out, &record.contract_id, 0);
    push_text(out, &record.issuer);
    if let Some(value) = &record.visual_number {
        text(out, value, HAS_VISUAL);
    }
    if let Some(value) = &record.group_id {
        text(out, value, HAS_GROUP);
    }
    if let Some(value) = &record.language {
        text(out, value, HAS_LANGUAGE);
    }
    if let Some(value) = energy_id {
        text(out, value, HAS_ENERGY_CONTRACT_ID);
    }
    if energy.is_some() {
        flags |= HAS_ENERGY_CONTRACT;
    }
    if needs_escape(record.issuer.as_bytes()) {
        flags |= ISSUER_ESCAPE;
    }
    let len = u16::try_from(out.len() - start).unwrap_or(u16::MAX);
    let owner = PartyName::new(&record.country_code, &record.party_id).map_or(0, |name| name.packed());
    let supplier = pool.intern_opt(energy.map(|e| &*e.supplier_name));
    let Some(header) = out.get_mut(start..start + HEADER) else {
        return;
    };
    write_at(header, LEN, &len.to_le_bytes());
    write_at(
        header,
        KIND,
        &[
            record.kind as u8,
            record.whitelist as u8,
            record.default_profile_type.map_or(NO_PROFILE, |p| p as u8),
            flags | if record.valid { VALID } else { 0 },
        ],
    );
    write_at(
        header,
        UPDATED,
        &Stamp::from_micros(record.last_updated).to_bits().to_le_bytes(),
    );
    write_at(header, OWNER, &owner.to_le_bytes());
    write_at(header, PARTY, &party.to_le_bytes());
    write_at(header, SUPPLIER, &supplier.to_le_bytes());
    let encoded = Record::new(out.get(start..).unwrap_or_default());
    let json_len = u16::try_from(measure(encoded, pool)).unwrap_or(u16::MAX);
    if let Some(header) = out.get_mut(start..start + HEADER) {
        write_at(header, JSON_LEN, &json_len.to_le_bytes());
    }
}

/// Overwrites `bytes[at..]` with `value` (ignored past the end: never happens for our headers).
fn write_at(bytes: &mut [u8], at: usize, value: &[u8]) {
    if let Some(to) = bytes.get_mut(at..at + value.len()) {
        to.copy_from_slice(value);
    }
}

/// Renames the pooled strings of a record, for a record built against another pool.
pub(crate) fn remap(record: &mut [u8], mut rename: impl FnMut(Sym) -> Sym) {
    for at in SYMS {
        let sym = Record::new(record).u32_at(at);
        if sym != NO_SYM {
            write_at(record, at, &rename(sym).to_le_bytes());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::tokens::model::{ProfileType, WhitelistType};
    use crate::tokens::parse::parse_token;

    pub(crate) const FULL: &str = r#"{"country_code":"de","party_id":"Tnm","uid":"12345678905880","type":"RFID","contract_id":"DE8ACC12E46L89","visual_number":"DF000-2001-8999-1","issuer":"The \"New\" Motion","group_id":"DF000-2001-8999","valid":true,"whitelist":"ALLOWED","language":"it","default_profile_type":"GREEN","energy_contract":{"supplier_name":"Greenpeace Energy eG","contract_id":"0123456789"},"last_updated":"2018-12-10T17:25:10Z"}"#;

    /// The record of a token's JSON, and its pool.
    pub(crate) fn stored(json: &str) -> (Vec<u8>, Pool) {
        let record = parse_token(json.as_bytes()).unwrap();
        let mut pool = Pool::default();
        let party = pool.intern(PartyName::new(&record.country_code, &record.party_id).unwrap().as_str());
        let mut bytes = Vec::new();
        encode(&record, party, &mut pool, &mut bytes);
        (bytes, pool)
    }

    #[test]
    fn record_keeps_every_field_with_upper_case_owner() {
        let (bytes, pool) = stored(FULL);
        let record = Record::new(&bytes);
        assert_eq!(Record::stored_len(&bytes), bytes.len());
        let view = record.view(&pool);
        assert_eq!(
            (view.country_code, view.party_id, view.uid),
            ("DE", "TNM", "12345678905880")
        );
        assert_eq!(
            (view.issuer, view.group_id, view.language),
            ("The \"New\" Motion", Some("DF000-2001-8999"), Some("it"))
        );
        assert_eq!(view.energy_contract, Some(("Greenpeace Energy eG", Some("0123456789"))));
        assert_eq!(
            (view.default_profile_type, view.whitelist, view.valid),
            (Some(ProfileType::Green), WhitelistType::Allowed, true)
        );
        assert!(!record.needs_escape());
        assert!(record.matches(&PartyName::new("DE", "tnm").unwrap(), "12345678905880", TokenType::Rfid));
        assert!(!record.matches(
            &PartyName::new("DE", "TNM").unwrap(),
            "12345678905880",
            TokenType::AppUser
        ));
        assert!(!record.matches(&PartyName::new("DE", "TN").unwrap(), "12345678905880", TokenType::Rfid));
        assert!(!record.matches(&PartyName::new("DE", "TNM").unwrap(), "12345678905881", TokenType::Rfid));
        assert!(record.same_key(record));
    }

    #[test]
    fn minimal_token_keeps_optional_fields_absent_and_record_stays_small() {
        let minimal = r#"{"country_code":"DE","party_id":"TNM","uid":"bdf21bce","type":"APP_USER","contract_id":"DE8ACC12E46L89","issuer":"TheNewMotion","valid":false,"whitelist":"NEVER","last_updated":"2018-12-10T17:16:15.5"}"#;
        let (bytes, pool) = stored(minimal);
        let view = Record::new(&bytes).view(&pool);
        assert_eq!(
            (view.visual_number, view.group_id, view.language, view.energy_contract),
            (None, None, None, None)
        );
        assert_eq!((view.default_profile_type, view.kind), (None, TokenType::AppUser));
        assert_eq!(view.last_updated % 1_000_000, 500_000);
        assert_eq!(bytes.len(), HEADER + 1 + 8 + 1 + 14 + 1 + 12);
    }

    #[test]
    fn long_utf8_text_and_escapes_roundtrip_through_the_record() {
        let visual = "é".repeat(64);
        let json = FULL
            .replace("DF000-2001-8999-1", &visual)
            .replace("DE8ACC12E46L89", r#"DE\"8\\"#);
        let (bytes, pool) = stored(&json);
        let record = Record::new(&bytes);
        assert_eq!(record.view(&pool).visual_number, Some(visual.as_str()));
        assert_eq!(record.view(&pool).contract_id, r#"DE"8\"#);
        assert!(record.needs_escape());
    }

    #[test]
    fn remap_renames_pooled_strings_and_keeps_absent_ones() {
        let (mut bytes, _) = stored(FULL);
        remap(&mut bytes, |sym| sym + 10);
        let record = Record::new(&bytes);
        assert_eq!((record.party(), record.supplier()), (10, Some(11)));
        let (mut bytes, _) = stored(&FULL.replace(
            r#","energy_contract":{"supplier_name":"Greenpeace Energy eG","contract_id":"0123456789"}"#,
            "",
        ));
        remap(&mut bytes, |sym| sym + 10);
        let record = Record::new(&bytes);
        assert_eq!(
            (record.party(), record.supplier(), record.u32_at(SUPPLIER)),
            (10, None, NO_SYM)
        );
    }

    #[test]
    fn key_hash_ignores_case_and_refuses_overlong_uids() {
        let hasher = hashbrown::DefaultHashBuilder::default();
        assert_eq!(
            key_hash(&hasher, b"abc", TokenType::Rfid),
            key_hash(&hasher, b"ABC", TokenType::Rfid)
        );
        assert_ne!(
            key_hash(&hasher, b"abc", TokenType::Rfid),
            key_hash(&hasher, b"abc", TokenType::Other)
        );
        assert_eq!(key_hash(&hasher, "x".repeat(37).as_bytes(), TokenType::Rfid), None);
        assert!(PartyName::new("NLD", "TNM").is_none());
    }
}
