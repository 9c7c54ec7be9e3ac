//! One shard of the token cache: its index, its arena of records, its string pool and its counts.

use hashbrown::{DefaultHashBuilder, HashMap};

use crate::tokens::arena::{Arena, Slot};
use crate::tokens::cache::Key;
use crate::tokens::entry::key_hash;
use crate::tokens::index::Index;
use crate::tokens::pool::{Pool, Sym};
use crate::tokens::record::Record;
use crate::tokens::render::Found;

/// The tokens of one shard, the pool their repeated strings live in, and a token count per owner.
#[derive(Default)]
pub(crate) struct Shard {
    /// Slots of `arena`, keyed by [`key_hash`].
    pub(crate) table: Index,
    pub(crate) arena: Arena,
    pub(crate) pool: Pool,
    pub(crate) counts: HashMap<Sym, usize>,
    /// How many times the shard was cleared: symbols from before a clear mean nothing after it.
    pub(crate) epoch: u64,
}

impl Shard {
    /// Inserts or replaces `record` (its symbols already in this shard's pool). True when it was new;
    /// false also when the shard has no room left for it (32 GiB of records), and then nothing changed.
    pub(crate) fn upsert(&mut self, hash: u64, record: Record<'_>, hasher: &DefaultHashBuilder) -> bool {
        let Self {
            table, arena, counts, ..
        } = self;
        let Some(slot) = arena.push(record.bytes()) else {
            return false;
        };
        if let Some(old) = table.replace(hash, slot, |s| arena.get(s).same_key(record)) {
            arena.free(old);
            self.compact_if_worth();
            return false;
        }
        *counts.entry(record.party()).or_default() += 1;
        table.insert(hash, slot, |s| rehash(hasher, arena, s));
        true
    }

    /// The slot of the token with this key.
    pub(crate) fn find(&self, hash: u64, key: &Key<'_>) -> Option<Slot> {
        self.table.find(hash, |s| {
            self.arena.preload(s);
            self.arena.get(s).matches(&key.party, key.uid, key.kind)
        })
    }

    /// Frees the arena of replaced and removed records when they are most of it.
    pub(crate) fn compact_if_worth(&mut self) {
        if self.arena.should_compact() {
            self.arena.compact(self.table.slots_mut());
        }
    }

    /// The token at `slot`, ready to render.
    pub(crate) fn found(&self, slot: Slot) -> Found<'_> {
        Found {
            record: self.arena.get(slot),
            pool: &self.pool,
        }
    }

    /// Makes room for `additional` more tokens.
    pub(crate) fn reserve(&mut self, additional: usize, hasher: &DefaultHashBuilder) {
        let Self { table, arena, .. } = self;
        table.reserve(additional, |s| rehash(hasher, arena, s));
    }
}

/// The key hash of the record at `slot`, for growing a table.
fn rehash(hasher: &DefaultHashBuilder, arena: &Arena, slot: Slot) -> u64 {
    let record = arena.get(slot);
    key_hash(hasher, record.uid(), record.kind()).unwrap_or_default()
}
