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
        let Some(slot) = arena.push(record.bytes(), hash) else {
            return false;
        };
        let new = if let Some(old) = table.replace(hash, slot, |s| arena.get(s).same_key(record)) {
            arena.free(old);
            false
        } else {
            *counts.entry(record.party()).or_default() += 1;
            table.insert(hash, slot, |s| rehash(hasher, arena, s));
            true
        };
        self.compact_if_worth(hasher);
        new
    }

    /// Starts loading what a lookup of `hash` will read first: its index line and its home bucket.
    #[inline]
    pub(crate) fn preload(&self, hash: u64) {
        self.arena.preload_home(hash);
        self.table.preload(hash);
    }

    /// The slot of the token with this key.
    pub(crate) fn find(&self, hash: u64, key: &Key<'_>) -> Option<Slot> {
        self.arena.preload_home(hash);
        self.table.find(hash, |s| {
            self.arena.preload(s);
            self.arena.get(s).matches(&key.party, key.uid, key.kind)
        })
    }

    /// Rebuilds the arena when replaced and removed records are most of it, or when many records
    /// found their bucket full (see `arena.rs`).
    pub(crate) fn compact_if_worth(&mut self, hasher: &DefaultHashBuilder) {
        if self.arena.should_compact() {
            let Self { table, arena, .. } = self;
            arena.compact(0, table.slots_mut(), |record| record_hash(hasher, record));
        }
    }

    /// The token at `slot`, ready to render.
    pub(crate) fn found(&self, slot: Slot) -> Found<'_> {
        Found {
            record: self.arena.get(slot),
            pool: &self.pool,
        }
    }

    /// How many of its tokens sit in their home bucket, and how many it has.
    #[cfg(test)]
    pub(crate) fn at_home(&self, hasher: &DefaultHashBuilder) -> (usize, usize) {
        let slots = self.table.slots();
        let home = slots
            .filter(|s| self.arena.at_home(*s, rehash(hasher, &self.arena, *s)))
            .count();
        (home, self.table.len())
    }

    /// Makes room for `additional` more tokens in the index.
    pub(crate) fn reserve(&mut self, additional: usize, hasher: &DefaultHashBuilder) {
        let Self { table, arena, .. } = self;
        table.reserve(additional, |s| rehash(hasher, arena, s));
    }

    /// Makes room for `additional` more tokens of `bytes` bytes of records in all, so that a bulk load
    /// finds their buckets ready instead of rebuilding the arena as it grows.
    pub(crate) fn reserve_records(&mut self, additional: usize, bytes: usize, hasher: &DefaultHashBuilder) {
        self.reserve(additional, hasher);
        if self.arena.wants_room(bytes) {
            let Self { table, arena, .. } = self;
            arena.compact(bytes, table.slots_mut(), |record| record_hash(hasher, record));
        }
    }
}

/// The key hash of the record at `slot`, for growing a table.
fn rehash(hasher: &DefaultHashBuilder, arena: &Arena, slot: Slot) -> u64 {
    record_hash(hasher, arena.get(slot))
}

/// The key hash of a record.
fn record_hash(hasher: &DefaultHashBuilder, record: Record<'_>) -> u64 {
    key_hash(hasher, record.uid(), record.kind()).unwrap_or_default()
}
