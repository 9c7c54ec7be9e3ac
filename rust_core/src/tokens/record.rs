//! The layout of a cached token's record, and reading it.
//!
//! A record is a 32-byte header (lengths, enums, flags, `last_updated`, the owner, two pooled strings)
//! followed by its strings, each prefixed by its length (one byte below 128, else two): uid,
//! `contract_id`, issuer, then when present `visual_number`, `group_id`, language and the energy
//! contract id. Numbers are little-endian. `entry::encode` writes records; [`Record`] reads them.
//!
//! Everything an answer needs is in the record itself, except the rare energy supplier: matching a key
//! and rendering the JSON read the record's two or three cache lines and nothing else. (With the
//! owner and the issuer in the shard's pool, each answer also missed the cache on the pool's tables,
//! which a million tokens' worth of other lookups keep pushing out.)

use crate::tokens::entry::PartyName;
use crate::tokens::model::{ProfileType, Stamp, TokenType, WhitelistType};
use crate::tokens::pool::{Pool, Sym};
use crate::tokens::whitelist::TokenState;

// The header: where each field sits.
pub(super) const LEN: usize = 0; // u16: the record's length in bytes, header included
pub(super) const JSON_LEN: usize = 2; // u16: the length of the token's JSON, so answering renders once
pub(super) const KIND: usize = 4;
pub(super) const WHITELIST: usize = 5;
pub(super) const PROFILE: usize = 6; // NO_PROFILE when absent
pub(super) const FLAGS: usize = 7;
pub(super) const UPDATED: usize = 8; // a model::Stamp
pub(super) const OWNER: usize = 16; // 8 bytes: the owner as a PartyName (`CC\x1fPID`, upper-case, packed)
pub(super) const PARTY: usize = 24; // the same owner as pooled, for counting tokens per owner
pub(super) const SUPPLIER: usize = 28;
pub(super) const HEADER: usize = 32;

/// Where the pooled symbols sit, for renaming them into another pool.
pub(crate) const SYMS: [usize; 2] = [PARTY, SUPPLIER];

pub(super) const NO_PROFILE: u8 = u8::MAX;
pub(super) const HAS_VISUAL: u8 = 1;
pub(super) const HAS_GROUP: u8 = 2;
pub(super) const HAS_ENERGY_CONTRACT_ID: u8 = 4;
pub(super) const HAS_ENERGY_CONTRACT: u8 = 8;
pub(super) const VALID: u8 = 32;
pub(super) const HAS_LANGUAGE: u8 = 64;
/// Some string other than the issuer holds a character JSON must escape (`"` or a backslash): rare, so
/// rendering copies the strings as they are unless this is set.
pub(super) const ESCAPE: u8 = 16;
/// The issuer holds a character JSON must escape (flagged apart: one issuer names many tokens).
pub(super) const ISSUER_ESCAPE: u8 = 128;

/// A cached token with its strings resolved, borrowed from the record and its pool.
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

/// Reads the strings of a record in order; yields nothing past its end (never happens for records we built).
pub(super) struct TextReader<'a> {
    pub(super) rest: &'a [u8],
}

impl<'a> TextReader<'a> {
    pub(super) fn next_text(&mut self) -> &'a [u8] {
        let (len, skip) = match self.rest {
            [first, second, ..] if first & 0x80 != 0 => (usize::from(first & 0x7f) | usize::from(*second) << 7, 2),
            [first, ..] => (usize::from(*first), 1),
            [] => return &[],
        };
        let text = self.rest.get(skip..skip + len).unwrap_or_default();
        self.rest = self.rest.get(skip + len..).unwrap_or_default();
        text
    }
}

/// The strings of a record, as bytes.
pub(crate) struct Texts<'a> {
    pub(crate) uid: &'a [u8],
    pub(crate) contract_id: &'a [u8],
    pub(crate) issuer: &'a [u8],
    pub(crate) visual_number: Option<&'a [u8]>,
    pub(crate) group_id: Option<&'a [u8]>,
    pub(crate) language: Option<&'a [u8]>,
    pub(crate) energy_contract_id: Option<&'a [u8]>,
}

/// Whether two uids are the same `CiString`: equal but for ASCII case. Compared eight bytes at a time
/// (uids are up to 36 bytes), without a call to `memcmp`.
fn same_text(stored: &[u8], asked: &[u8]) -> bool {
    if stored.len() != asked.len() {
        return false;
    }
    let (mut a, mut b) = (stored.chunks_exact(8), asked.chunks_exact(8));
    let words_equal = a.by_ref().zip(b.by_ref()).all(|(x, y)| {
        let (x, y) = (word(x), word(y));
        x == y || fold(x) == fold(y)
    });
    words_equal && a.remainder().eq_ignore_ascii_case(b.remainder())
}

fn word(bytes: &[u8]) -> u64 {
    let mut raw = [0; 8];
    raw.copy_from_slice(bytes.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(raw)
}

/// The eight bytes of `x` with ASCII lower-case letters made upper-case (other bytes unchanged).
fn fold(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let seven = x & !HIGH;
    // Per byte, the high bit of: >= 'a', and > 'z' (on the low seven bits: no carry between bytes).
    let from_a = seven + ONES * u64::from(0x80 - b'a');
    let past_z = seven + ONES * u64::from(0x7f - b'z');
    let lower = from_a & !past_z & !x & HIGH;
    x - (lower >> 2)
}

/// A token as the cache keeps it, borrowed from its arena.
#[derive(Clone, Copy)]
pub(crate) struct Record<'a> {
    bytes: &'a [u8],
}

impl<'a> Record<'a> {
    /// The record held by `bytes` (exactly its bytes: see [`Record::stored_len`]).
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The length of the record that starts `bytes`.
    pub(crate) fn stored_len(bytes: &[u8]) -> usize {
        match bytes {
            [low, high, ..] => usize::from(u16::from_le_bytes([*low, *high])),
            _ => 0,
        }
    }

    /// The length of its JSON, as measured when it was built.
    pub(crate) fn json_len(self) -> usize {
        usize::from(u16::from_le_bytes([self.byte(JSON_LEN), self.byte(JSON_LEN + 1)]))
    }

    /// Its bytes.
    pub(crate) fn bytes(self) -> &'a [u8] {
        self.bytes
    }

    fn byte(self, at: usize) -> u8 {
        self.bytes.get(at).copied().unwrap_or(0)
    }

    pub(super) fn u32_at(self, at: usize) -> u32 {
        let mut raw = [0; 4];
        raw.copy_from_slice(self.bytes.get(at..at + 4).unwrap_or(&[0xff; 4]));
        u32::from_le_bytes(raw)
    }

    pub(crate) fn kind(self) -> TokenType {
        TokenType::ALL
            .get(usize::from(self.byte(KIND)))
            .copied()
            .unwrap_or(TokenType::Other)
    }

    pub(crate) fn whitelist(self) -> WhitelistType {
        let at = usize::from(self.byte(WHITELIST));
        WhitelistType::ALL.get(at).copied().unwrap_or(WhitelistType::Never)
    }

    pub(crate) fn valid(self) -> bool {
        self.byte(FLAGS) & VALID != 0
    }

    pub(crate) fn profile(self) -> Option<ProfileType> {
        ProfileType::ALL.get(usize::from(self.byte(PROFILE))).copied()
    }

    /// `last_updated`, as stored.
    pub(crate) fn stamp(self) -> Stamp {
        let mut raw = [0; 8];
        raw.copy_from_slice(self.bytes.get(UPDATED..UPDATED + 8).unwrap_or(&[0; 8]));
        Stamp::from_bits(u64::from_le_bytes(raw))
    }

    /// The owner, pooled.
    pub(crate) fn party(self) -> Sym {
        self.u32_at(PARTY)
    }

    /// The owner, packed as [`PartyName::packed`].
    pub(crate) fn owner(self) -> u64 {
        let mut raw = [0; 8];
        raw.copy_from_slice(self.bytes.get(OWNER..OWNER + 8).unwrap_or(&[0; 8]));
        u64::from_le_bytes(raw)
    }

    /// The owner's name as stored, `CC\x1fPID` (borrowed from the record).
    pub(crate) fn owner_name(self) -> &'a [u8] {
        let len = usize::from(self.byte(OWNER + 7));
        self.bytes.get(OWNER..OWNER + len.min(7)).unwrap_or_default()
    }

    /// The energy supplier, `None` when the token has no energy contract.
    pub(crate) fn supplier(self) -> Option<Sym> {
        (self.byte(FLAGS) & HAS_ENERGY_CONTRACT != 0).then(|| self.u32_at(SUPPLIER))
    }

    /// Whether a string other than the issuer needs JSON escapes.
    pub(crate) fn needs_escape(self) -> bool {
        self.byte(FLAGS) & ESCAPE != 0
    }

    /// Whether the issuer needs JSON escapes.
    pub(crate) fn issuer_needs_escape(self) -> bool {
        self.byte(FLAGS) & ISSUER_ESCAPE != 0
    }

    /// The uid as the eMSP last sent it.
    pub(crate) fn uid(self) -> &'a [u8] {
        TextReader {
            rest: self.bytes.get(HEADER..).unwrap_or_default(),
        }
        .next_text()
    }

    /// The inline strings.
    pub(crate) fn texts(self) -> Texts<'a> {
        let flags = self.byte(FLAGS);
        let mut reader = TextReader {
            rest: self.bytes.get(HEADER..).unwrap_or_default(),
        };
        let (uid, contract_id, issuer) = (reader.next_text(), reader.next_text(), reader.next_text());
        let mut optional = |flag: u8| (flags & flag != 0).then(|| reader.next_text());
        Texts {
            uid,
            contract_id,
            issuer,
            visual_number: optional(HAS_VISUAL),
            group_id: optional(HAS_GROUP),
            language: optional(HAS_LANGUAGE),
            energy_contract_id: optional(HAS_ENERGY_CONTRACT_ID),
        }
    }

    /// What the whitelist decision needs.
    pub(crate) fn state(self) -> TokenState {
        TokenState {
            whitelist: self.whitelist(),
            valid: self.valid(),
        }
    }

    /// Whether this record has the key (`uid` compared without case).
    pub(crate) fn matches(self, party: &PartyName, uid: &str, kind: TokenType) -> bool {
        self.kind() == kind && self.owner() == party.packed() && same_text(self.uid(), uid.as_bytes())
    }

    /// Whether both records have the same key (and their owners the same pool).
    pub(crate) fn same_key(self, other: Record<'_>) -> bool {
        self.kind() == other.kind() && self.party() == other.party() && self.uid().eq_ignore_ascii_case(other.uid())
    }

    /// The token with its strings resolved.
    pub(crate) fn view(self, pool: &'a Pool) -> TokenView<'a> {
        let text = |bytes: &'a [u8]| std::str::from_utf8(bytes).unwrap_or("");
        let texts = self.texts();
        let party = text(self.owner_name());
        let (country_code, party_id) = party
            .split_once(char::from(crate::tokens::entry::PARTY_SEPARATOR))
            .unwrap_or((party, ""));
        TokenView {
            country_code,
            party_id,
            uid: text(texts.uid),
            kind: self.kind(),
            contract_id: text(texts.contract_id),
            visual_number: texts.visual_number.map(text),
            issuer: text(texts.issuer),
            group_id: texts.group_id.map(text),
            valid: self.valid(),
            whitelist: self.whitelist(),
            language: texts.language.map(text),
            default_profile_type: self.profile(),
            energy_contract: self
                .supplier()
                .map(|supplier| (pool.get(supplier), texts.energy_contract_id.map(text))),
            last_updated: self.stamp().micros(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_ignores_ascii_case_only() {
        assert!(same_text(b"0123456789abcdefXYZ", b"0123456789ABCDEFxyz"));
        assert!(same_text(b"", b""));
        assert!(!same_text(b"abc", b"abcd"));
        assert!(!same_text(b"12345678@", b"12345678`"));
        // Every pair of bytes, in each position of a word and of the remainder, as `eq_ignore_ascii_case`.
        for a in 0..=255_u8 {
            for b in 0..=255_u8 {
                for at in [0, 7, 9] {
                    let (mut x, mut y) = ([b'k'; 10], [b'K'; 10]);
                    (x[at], y[at]) = (a, b);
                    assert_eq!(same_text(&x, &y), x.eq_ignore_ascii_case(&y), "{a} {b} {at}");
                }
            }
        }
    }
}
