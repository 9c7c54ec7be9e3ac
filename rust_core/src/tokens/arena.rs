//! The records of one shard in one buffer, each named by a 4-byte [`Slot`], most of them at a place
//! their key's hash predicts.
//!
//! Why not a heap block per token: a lookup then touches the table slot, the block and, for the old
//! 56-byte slots, a third cache line; with a million tokens each of those is a miss to main memory.
//! A 4-byte slot keeps the index small, and saves the allocator's header and rounding on every token.
//!
//! Why home buckets: the index line and the record are two misses to main memory, and the second
//! cannot start before the first ends (the slot is in the index line). So the buffer starts with
//! [`BUCKET`]-byte buckets, and a record goes into the bucket its key hash names while there is room
//! there. A lookup starts loading that bucket ([`Arena::preload_home`]) at the same time as the index
//! line, and for most tokens the record is already on its way when the slot arrives. Records that do
//! not fit go after the buckets, and a lookup of those still waits twice. Placement is only a speed
//! hint: the index alone says where a record is.
//!
//! Replacing or removing a record leaves its bytes as garbage. When garbage is more than half of the
//! buffer, or the records after the buckets are more than a quarter of those in them, the shard
//! rebuilds its arena ([`Arena::compact`]): buckets for the live records at [`FILL_PERCENT`], then each
//! record into its bucket. Memory stays within about twice what is live, and each byte written is
//! copied a bounded number of times more.

use crate::tokens::record::Record;

/// Records start at multiples of this many bytes, which makes a `u32` slot reach 32 GiB per shard.
pub(crate) const ALIGN: usize = 8;

/// Where a record starts in its arena, in units of [`ALIGN`] bytes.
pub(crate) type Slot = u32;

/// Garbage, or records after the buckets, below this many bytes are never worth a rebuild.
const COMPACT_FROM: usize = 64 * 1024;

/// Bytes in a home bucket: eight cache lines, which a lookup loads all at once. Measured against 256
/// (fewer records find room at home) and 1024 (more lines loaded for nothing).
pub(crate) const BUCKET: usize = 512;

/// How full a rebuild leaves the buckets, in percent. At 80, about one record in six finds its bucket
/// full at a rebuild, and the buckets cost 1.25 times the bytes of the records in them; 70 measured no
/// faster and took 5% more memory.
const FILL_PERCENT: usize = 80;

/// The records of one shard.
#[derive(Default)]
pub(crate) struct Arena {
    /// The buckets, then the records that did not fit in theirs.
    bytes: Vec<u8>,
    /// Bytes used in each bucket; there are `fill.len()` buckets.
    fill: Vec<u16>,
    /// Bytes of live records (each rounded up to [`ALIGN`]).
    live: usize,
    garbage: usize,
    /// Length of `bytes` right after the last rebuild.
    settled: usize,
}

impl Arena {
    fn home_len(&self) -> usize {
        self.fill.len() * BUCKET
    }

    /// The bucket of a key hash: its bits 8 to 39 scaled to the bucket count (the index uses the low
    /// bits, the shard choice bits 40 to 45, the index tag the top byte).
    fn bucket(&self, hash: u64) -> usize {
        ((u64::from((hash >> 8) as u32) * self.fill.len() as u64) >> 32) as usize
    }

    /// Stores a record, in its key hash's bucket when there is room there; `None` when the arena has
    /// no slot left (32 GiB of records in one shard).
    pub(crate) fn push(&mut self, record: &[u8], hash: u64) -> Option<Slot> {
        let len = record.len().next_multiple_of(ALIGN);
        let bucket = self.bucket(hash);
        if let Some(used) = self.fill.get_mut(bucket) {
            let start = bucket * BUCKET + usize::from(*used);
            if usize::from(*used) + len <= BUCKET {
                if let (Ok(slot), Some(to)) = (
                    Slot::try_from(start / ALIGN),
                    self.bytes.get_mut(start..start + record.len()),
                ) {
                    to.copy_from_slice(record);
                    *used += len as u16;
                    self.live += len;
                    return Some(slot);
                }
            }
        }
        let start = self.bytes.len();
        let slot = Slot::try_from(start / ALIGN).ok()?;
        self.bytes.extend_from_slice(record);
        self.bytes.resize(start + len, 0);
        self.live += len;
        Some(slot)
    }

    /// The record at `slot` (an empty record for a slot this arena never gave out).
    pub(crate) fn get(&self, slot: Slot) -> Record<'_> {
        let rest = self.bytes.get(slot as usize * ALIGN..).unwrap_or_default();
        Record::new(rest.get(..Record::stored_len(rest)).unwrap_or_default())
    }

    /// Starts loading every line of the bucket of `hash`, so that the record is on its way while the
    /// index line that names its slot loads (the two loads do not depend on each other).
    #[inline]
    pub(crate) fn preload_home(&self, hash: u64) {
        let start = self.bucket(hash) * BUCKET;
        if let Some(bucket) = self.bytes.get(start..start + BUCKET) {
            let mut lines = 0_u8;
            for line in bucket.iter().step_by(64) {
                lines ^= *line;
            }
            std::hint::black_box(lines);
        }
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
        let len = self.get(slot).bytes().len().next_multiple_of(ALIGN);
        self.garbage += len;
        self.live = self.live.saturating_sub(len);
    }

    /// Whether a rebuild pays: garbage is most of the buffer, or the records placed after the buckets
    /// since the last rebuild are more than a quarter of the buckets' bytes.
    pub(crate) fn should_compact(&self) -> bool {
        let grown = self.bytes.len().saturating_sub(self.settled);
        (self.garbage >= COMPACT_FROM && self.garbage * 2 > self.bytes.len())
            || (grown >= COMPACT_FROM && grown * 4 > self.home_len())
    }

    /// Whether `extra` more bytes of records are worth a rebuild before they arrive: they would not
    /// fit in the buckets at [`FILL_PERCENT`], and they are many (a bulk load, not a single token).
    pub(crate) fn wants_room(&self, extra: usize) -> bool {
        extra >= COMPACT_FROM.max(self.home_len() / 4) && (self.live + extra) * 100 > self.home_len() * FILL_PERCENT
    }

    /// Rebuilds the arena for the live records (those `slots` name) and `extra` more bytes of records
    /// to come: buckets for them all at [`FILL_PERCENT`], each live record into the bucket of its hash
    /// (`rehash`) or after the buckets, and their slots renamed.
    pub(crate) fn compact<'s>(
        &mut self,
        extra: usize,
        slots: impl Iterator<Item = &'s mut Slot>,
        mut rehash: impl FnMut(Record<'_>) -> u64,
    ) {
        let buckets = ((self.live + extra) * 100).div_ceil(BUCKET * FILL_PERCENT);
        let home = buckets * BUCKET;
        let mut fresh = Self {
            bytes: Vec::with_capacity(home + (self.live + extra) / 4),
            fill: vec![0; buckets],
            ..Self::default()
        };
        fresh.bytes.resize(home, 0);
        for slot in slots {
            let record = self.get(*slot);
            // Cannot fail: the fresh arena holds the same records in at most the old one's slots
            // plus its buckets, well under the 32 GiB a slot reaches.
            *slot = fresh.push(record.bytes(), rehash(record)).unwrap_or(0);
        }
        fresh.settled = fresh.bytes.len();
        *self = fresh;
    }

    /// Whether the record at `slot` sits in the bucket of `hash`.
    #[cfg(test)]
    pub(crate) fn at_home(&self, slot: Slot, hash: u64) -> bool {
        let start = slot as usize * ALIGN;
        start < self.home_len() && start / BUCKET == self.bucket(hash)
    }

    /// Bytes held (the buffer's capacity and the bucket counts).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.bytes.capacity() + self.fill.capacity() * size_of::<u16>()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::entry::tests::{stored, FULL};

    /// A spread-out hash for record number `i`.
    fn hash(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn records_come_back_and_compaction_keeps_only_live_ones() {
        let (record, _) = stored(FULL);
        let mut arena = Arena::default();
        let mut slots: Vec<(Slot, u64)> = (0..2000)
            .map(|i| (arena.push(&record, hash(i)).unwrap(), hash(i)))
            .collect();
        assert!(slots.iter().all(|(s, _)| arena.get(*s).bytes() == record.as_slice()));
        assert_eq!(arena.get(Slot::MAX).bytes(), b"");
        for (slot, _) in slots.drain(..1500) {
            arena.free(slot);
        }
        assert!(arena.should_compact());
        let before = arena.memory_bytes();
        let hashes: Vec<u64> = slots.iter().map(|(_, h)| *h).collect();
        let mut renamed: Vec<Slot> = slots.iter().map(|(s, _)| *s).collect();
        let mut next = hashes.iter();
        arena.compact(0, renamed.iter_mut(), |_| *next.next().unwrap());
        assert!(!arena.should_compact() && arena.memory_bytes() < before / 2);
        assert!(renamed.iter().all(|s| arena.get(*s).bytes() == record.as_slice()));
        // After the rebuild most records sit in the bucket their hash names.
        let home = renamed
            .iter()
            .zip(&hashes)
            .filter(|(s, h)| **s as usize * ALIGN / BUCKET == arena.bucket(**h))
            .count();
        assert!(home * 10 >= renamed.len() * 8, "{home} of {} at home", renamed.len());
    }

    #[test]
    fn records_that_fill_their_bucket_go_after_the_buckets_and_a_rebuild_follows_growth() {
        let (record, _) = stored(FULL);
        let mut arena = Arena::default();
        // Every record names the same bucket: after the first rebuild, only a few fit there.
        let mut slots: Vec<Slot> = Vec::new();
        let mut rebuilds = 0;
        for _ in 0..5000 {
            slots.push(arena.push(&record, 7).unwrap());
            if arena.should_compact() {
                arena.compact(0, slots.iter_mut(), |_| 7);
                rebuilds += 1;
            }
        }
        assert!(slots.iter().all(|s| arena.get(*s).bytes() == record.as_slice()));
        let per_bucket = BUCKET / record.len().next_multiple_of(ALIGN);
        let at_home = slots
            .iter()
            .filter(|s| (**s as usize * ALIGN) < arena.home_len())
            .count();
        assert_eq!(at_home, per_bucket);
        // Rebuilds come at geometric steps of growth, not at every record.
        assert!((1..=12).contains(&rebuilds), "{rebuilds} rebuilds");
    }
}
