//! The layout of a cached token's record, and reading it.
//!
//! A record is a 32-byte header (lengths, enums, flags, `last_updated`, four pooled strings) followed
//! by the strings unique per token, each prefixed by its length (one byte below 128, else two): uid,
//! `contract_id`, then when present `visual_number`, `group_id` and the energy contract id. Numbers
//! are little-endian. `entry::encode` writes records; [`Record`] reads them.

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
pub(super) const PARTY: usize = 16; // the owner as pooled `CC\x1fPID`, upper-case
pub(super) const ISSUER: usize = 20;
pub(super) const LANGUAGE: usize = 24;
pub(super) const SUPPLIER: usize = 28;
pub(super) const HEADER: usize = 32;

/// Where the pooled symbols sit, for renaming them into another pool.
pub(crate) const SYMS: [usize; 4] = [PARTY, ISSUER, LANGUAGE, SUPPLIER];

pub(super) const NO_PROFILE: u8 = u8::MAX;
pub(super) const HAS_VISUAL: u8 = 1;
pub(super) const HAS_GROUP: u8 = 2;
pub(super) const HAS_ENERGY_CONTRACT_ID: u8 = 4;
pub(super) const HAS_ENERGY_CONTRACT: u8 = 8;
pub(super) const VALID: u8 = 32;
/// Some inline string holds a character JSON must escape (`"` or a backslash): rare, so rendering copies
/// the strings as they are unless this is set.
pub(super) const ESCAPE: u8 = 16;

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
    pub(crate) visual_number: Option<&'a [u8]>,
    pub(crate) group_id: Option<&'a [u8]>,
    pub(crate) energy_contract_id: Option<&'a [u8]>,
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

    pub(crate) fn issuer(self) -> Sym {
        self.u32_at(ISSUER)
    }

    pub(crate) fn language(self) -> Sym {
        self.u32_at(LANGUAGE)
    }

    /// The energy supplier, `None` when the token has no energy contract.
    pub(crate) fn supplier(self) -> Option<Sym> {
        (self.byte(FLAGS) & HAS_ENERGY_CONTRACT != 0).then(|| self.u32_at(SUPPLIER))
    }

    /// Whether an inline string needs JSON escapes.
    pub(crate) fn needs_escape(self) -> bool {
        self.byte(FLAGS) & ESCAPE != 0
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
        let (uid, contract_id) = (reader.next_text(), reader.next_text());
        let mut optional = |flag: u8| (flags & flag != 0).then(|| reader.next_text());
        Texts {
            uid,
            contract_id,
            visual_number: optional(HAS_VISUAL),
            group_id: optional(HAS_GROUP),
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

    /// Whether this record has the key (`party` as pooled, `uid` compared without case).
    pub(crate) fn matches(self, pool: &Pool, party: &PartyName, uid: &str, kind: TokenType) -> bool {
        let (stored, asked) = (self.uid(), uid.as_bytes());
        // Most keys come in the case the eMSP sent: an exact compare is a memcmp.
        self.kind() == kind
            && (stored == asked || stored.eq_ignore_ascii_case(asked))
            && pool.get(self.party()).as_bytes() == party.as_bytes()
    }

    /// Whether both records have the same key (and their owners the same pool).
    pub(crate) fn same_key(self, other: Record<'_>) -> bool {
        self.kind() == other.kind() && self.party() == other.party() && self.uid().eq_ignore_ascii_case(other.uid())
    }

    /// The token with its strings resolved.
    pub(crate) fn view(self, pool: &'a Pool) -> TokenView<'a> {
        let text = |bytes: &'a [u8]| std::str::from_utf8(bytes).unwrap_or("");
        let texts = self.texts();
        let party = pool.get(self.party());
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
            issuer: pool.get(self.issuer()),
            group_id: texts.group_id.map(text),
            valid: self.valid(),
            whitelist: self.whitelist(),
            language: pool.get_opt(self.language()),
            default_profile_type: self.profile(),
            energy_contract: self
                .supplier()
                .map(|supplier| (pool.get(supplier), texts.energy_contract_id.map(text))),
            last_updated: self.stamp().micros(),
        }
    }
}
