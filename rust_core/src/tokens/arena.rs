//! The records of one shard, back to back in one growing buffer, each named by a 4-byte [`Slot`].
//!
//! Why not a heap block per token: a lookup then touches the table slot, the block and, for the old
//! 56-byte slots, a third cache line; with a million tokens each of those is a miss to main memory.
//! A 4-byte slot keeps the whole table small enough to stay in the CPU's last-level cache, so a lookup
//! misses once, on the record. It also saves the allocator's header and rounding on every token.
//!
//! Replacing or removing a record leaves its bytes as garbage; when garbage is more than half of the
//! buffer, the shard copies its live records into a fresh buffer ([`Arena::compact`]), so memory stays
//! within twice what is live and each byte written is copied at most about once more.

use crate::tokens::record::Record;

/// Records start at multiples of this many bytes, which makes a `u32` slot reach 32 GiB per shard.
pub(crate) const ALIGN: usize = 8;

/// Where a record starts in its arena, in units of [`ALIGN`] bytes.
pub(crate) type Slot = u32;

/// Garbage below this many bytes is never worth a compaction.
const COMPACT_FROM: usize = 64 * 1024;

/// The records of one shard.
#[derive(Default)]
pub(crate) struct Arena {
    bytes: Vec<u8>,
    garbage: usize,
}

impl Arena {
    /// Appends a record; `None` when the arena has no slot left (32 GiB of records in one shard).
    pub(crate) fn push(&mut self, record: &[u8]) -> Option<Slot> {
        let start = self.bytes.len();
        let slot = Slot::try_from(start / ALIGN).ok()?;
        self.bytes.extend_from_slice(record);
        self.bytes.resize(start + record.len().next_multiple_of(ALIGN), 0);
        Some(slot)
    }

    /// The record at `slot` (an empty record for a slot this arena never gave out).
    pub(crate) fn get(&self, slot: Slot) -> Record<'_> {
        let rest = self.bytes.get(slot as usize * ALIGN..).unwrap_or_default();
        Record::new(rest.get(..Record::stored_len(rest)).unwrap_or_default())
    }

    /// Starts loading the second and third cache lines of the record at `slot` while the first one
    /// loads: a record is 70 to 170 bytes and starts anywhere in a line (8-byte steps), so most span
    /// three lines and the answer needs them all; three misses to main memory then cost about one.
    #[inline]
    pub(crate) fn preload(&self, slot: Slot) {
        let next_line = ((slot as usize * ALIGN) | 63) + 1;
        std::hint::black_box(self.bytes.get(next_line).copied());
        std::hint::black_box(self.bytes.get(next_line + 64).copied());
    }

    /// Marks the record at `slot` as garbage.
    pub(crate) fn free(&mut self, slot: Slot) {
        self.garbage += self.get(slot).bytes().len().next_multiple_of(ALIGN);
    }

    /// Whether enough is garbage that [`Arena::compact`] pays.
    pub(crate) fn should_compact(&self) -> bool {
        self.garbage >= COMPACT_FROM && self.garbage * 2 > self.bytes.len()
    }

    /// Moves the live records (those `slots` name) into a fresh buffer and renames their slots.
    pub(crate) fn compact<'s>(&mut self, slots: impl Iterator<Item = &'s mut Slot>) {
        let mut fresh = Self {
            bytes: Vec::with_capacity(self.bytes.len().saturating_sub(self.garbage)),
            garbage: 0,
        };
        for slot in slots {
            // Cannot fail: the fresh arena is never larger than this one.
            *slot = fresh.push(self.get(*slot).bytes()).unwrap_or(0);
        }
        *self = fresh;
    }

    /// Bytes held (the buffer's capacity).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::entry::tests::{stored, FULL};

    #[test]
    fn records_come_back_and_compaction_keeps_only_live_ones() {
        let (record, _) = stored(FULL);
        let mut arena = Arena::default();
        let mut slots: Vec<Slot> = (0..2000).map(|_| arena.push(&record).unwrap()).collect();
        assert!(slots.iter().all(|s| arena.get(*s).bytes() == record.as_slice()));
        assert_eq!(arena.get(Slot::MAX).bytes(), b"");
        for slot in slots.drain(..1500) {
            arena.free(slot);
        }
        assert!(arena.should_compact());
        let before = arena.memory_bytes();
        arena.compact(slots.iter_mut());
        assert!(!arena.should_compact() && arena.memory_bytes() < before / 2);
        assert_eq!(slots[1] as usize, record.len().div_ceil(ALIGN));
        assert!(slots.iter().all(|s| arena.get(*s).bytes() == record.as_slice()));
    }
}
