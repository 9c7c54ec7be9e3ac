//! The hash index of a shard: key hash to [`Slot`], one cache line per probe.
//!
//! Why not `hashbrown::HashTable<Slot>`: it keeps its control bytes and its slots in two separate
//! arrays, so with a million tokens a lookup missed the cache on a control byte, then on the slot,
//! then on the record. Here a [`Group`] is one 64-byte line holding 12 one-byte tags and their 12
//! slots, so a lookup misses once on the group and once on the record (and `arena.rs` lets the two
//! misses overlap for most records).
//!
//! Open addressing with linear probing by group. A tag is 0 (empty), 1 (deleted) or 2..=255, taken
//! from the hash's top byte. A probe stops at the first group with an empty tag: such a group has
//! never been full, so no key's probe ever went past it. Removing from a group that has an empty tag
//! therefore empties the tag; otherwise it leaves a deleted mark, and deleted marks go at the next
//! rebuild. The table rebuilds when live plus deleted tags pass 7/8 of the capacity.

use crate::tokens::arena::Slot;

/// Slots in a group: 16 tag bytes (12 used, 4 always [`DELETED`]) and 12 four-byte slots fill a
/// 64-byte line, and the tags are compared 16 at a time as one `u128`.
const WIDTH: usize = 12;
const EMPTY: u8 = 0;
const DELETED: u8 = 1;
const LOW: u128 = u128::from_le_bytes([0x01; 16]);
const HIGH7: u128 = u128::from_le_bytes([0x7f; 16]);

/// One cache line of the index.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Group {
    tags: [u8; 16],
    slots: [Slot; WIDTH],
}

impl Default for Group {
    fn default() -> Self {
        let mut tags = [EMPTY; 16];
        if let Some(padding) = tags.get_mut(WIDTH..) {
            padding.fill(DELETED);
        }
        Self {
            tags,
            slots: [0; WIDTH],
        }
    }
}

impl Group {
    /// Bit 8*i+7 set for every tag equal to `tag` (exact: no false positives).
    fn matching(&self, tag: u8) -> u128 {
        let x = u128::from_le_bytes(self.tags) ^ (LOW * u128::from(tag));
        !(((x & HIGH7) + HIGH7) | x | HIGH7)
    }

    fn has_empty(&self) -> bool {
        self.matching(EMPTY) != 0
    }

    /// The positions of the tags equal to `tag`, in order.
    fn positions(&self, tag: u8) -> impl Iterator<Item = usize> {
        let mut bits = self.matching(tag);
        std::iter::from_fn(move || {
            let at = bits.trailing_zeros() as usize / 8;
            (bits != 0).then(|| {
                bits &= bits - 1;
                at
            })
        })
    }
}

/// Key hash to slot, for the slots of one shard's arena.
#[derive(Default)]
pub(crate) struct Index {
    groups: Vec<Group>,
    /// Live entries.
    items: usize,
    /// Live entries plus deleted marks.
    used: usize,
}

/// The tag of a hash: its top byte, moved off the two reserved values.
fn tag(hash: u64) -> u8 {
    let top = (hash >> 56) as u8;
    if top < 2 {
        top + 2
    } else {
        top
    }
}

impl Index {
    /// How many entries are live.
    pub(crate) fn len(&self) -> usize {
        self.items
    }

    fn mask(&self) -> usize {
        self.groups.len().wrapping_sub(1)
    }

    /// The groups of `hash`'s probe sequence, as indices, up to and including the first one with an
    /// empty tag (at most every group once).
    fn probe(&self, hash: u64) -> impl Iterator<Item = usize> + '_ {
        let start = hash as usize & self.mask();
        let mut done = self.groups.is_empty();
        (0..self.groups.len()).map_while(move |step| {
            if done {
                return None;
            }
            let at = (start + step) & self.mask();
            done = self.groups.get(at).is_none_or(Group::has_empty);
            Some(at)
        })
    }

    /// Starts loading the first group of `hash`'s probe sequence (a batch does this for keys ahead).
    #[inline]
    pub(crate) fn preload(&self, hash: u64) {
        std::hint::black_box(self.groups.get(hash as usize & self.mask()).map(|group| group.tags));
    }

    /// Every slot whose tag matches `hash`, in probe order (the candidates for its key).
    pub(crate) fn candidates(&self, hash: u64) -> impl Iterator<Item = Slot> + '_ {
        let tag = tag(hash);
        self.probe(hash)
            .filter_map(|at| self.groups.get(at))
            .flat_map(move |group| group.positions(tag).filter_map(|i| group.slots.get(i).copied()))
    }

    /// The first slot of `hash` that `is_it` accepts.
    pub(crate) fn find(&self, hash: u64, mut is_it: impl FnMut(Slot) -> bool) -> Option<Slot> {
        self.candidates(hash).find(|slot| is_it(*slot))
    }

    /// Where the slot of `hash` accepted by `is_it` sits: (group, position).
    fn position(&self, hash: u64, mut is_it: impl FnMut(Slot) -> bool) -> Option<(usize, usize)> {
        let tag = tag(hash);
        self.probe(hash).find_map(|at| {
            let group = self.groups.get(at)?;
            let i = group
                .positions(tag)
                .find(|i| group.slots.get(*i).is_some_and(|slot| is_it(*slot)))?;
            Some((at, i))
        })
    }

    /// Replaces the slot of `hash` accepted by `is_it` with `slot`; the old slot, if there was one.
    pub(crate) fn replace(&mut self, hash: u64, slot: Slot, is_it: impl FnMut(Slot) -> bool) -> Option<Slot> {
        let (at, i) = self.position(hash, is_it)?;
        let old = self.groups.get_mut(at)?.slots.get_mut(i)?;
        Some(std::mem::replace(old, slot))
    }

    /// Removes the slot of `hash` accepted by `is_it`, and returns it.
    pub(crate) fn remove(&mut self, hash: u64, is_it: impl FnMut(Slot) -> bool) -> Option<Slot> {
        let (at, i) = self.position(hash, is_it)?;
        let group = self.groups.get_mut(at)?;
        let has_empty = group.has_empty();
        let tag = group.tags.get_mut(i)?;
        *tag = if has_empty { EMPTY } else { DELETED };
        self.items -= 1;
        if has_empty {
            self.used -= 1;
        }
        group.slots.get(i).copied()
    }

    /// Adds `slot` for `hash`, which must not be in the index; `rehash` gives the hash of any slot.
    pub(crate) fn insert(&mut self, hash: u64, slot: Slot, rehash: impl Fn(Slot) -> u64) {
        self.reserve(1, rehash);
        self.place(hash, slot);
    }

    /// Puts `slot` in the first free place of `hash`'s probe sequence (there is one after `reserve`).
    fn place(&mut self, hash: u64, slot: Slot) {
        let (start, mask) = (hash as usize & self.mask(), self.mask());
        for step in 0..self.groups.len() {
            let Some(group) = self.groups.get_mut((start + step) & mask) else {
                return;
            };
            if let Some(i) = group.tags.iter().take(WIDTH).position(|t| *t <= DELETED) {
                if group.tags.get(i) == Some(&EMPTY) {
                    self.used += 1;
                }
                if let (Some(t), Some(s)) = (group.tags.get_mut(i), group.slots.get_mut(i)) {
                    (*t, *s) = (tag(hash), slot);
                }
                self.items += 1;
                return;
            }
        }
    }

    /// Makes room for `additional` more entries without another rebuild.
    pub(crate) fn reserve(&mut self, additional: usize, rehash: impl Fn(Slot) -> u64) {
        let capacity = self.groups.len() * WIDTH;
        if (self.used + additional) * 8 <= capacity * 7 {
            return;
        }
        let wanted = (self.items + additional).max(WIDTH) * 8 / 7 + 1;
        let groups = wanted.div_ceil(WIDTH).next_power_of_two();
        let old = std::mem::replace(&mut self.groups, vec![Group::default(); groups]);
        (self.items, self.used) = (0, 0);
        for group in old {
            for (t, slot) in group.tags.iter().zip(group.slots) {
                if *t > DELETED {
                    self.place(rehash(slot), slot);
                }
            }
        }
    }

    /// Every live slot, to rename (the hashes stay the same).
    pub(crate) fn slots_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.groups.iter_mut().flat_map(|group| {
            group
                .tags
                .iter()
                .zip(group.slots.iter_mut())
                .filter(|(t, _)| **t > DELETED)
                .map(|(_, slot)| slot)
        })
    }

    /// Every live slot.
    #[cfg(test)]
    pub(crate) fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.groups.iter().flat_map(|group| {
            group
                .tags
                .iter()
                .zip(group.slots)
                .filter(|(t, _)| **t > DELETED)
                .map(|(_, slot)| slot)
        })
    }

    /// Bytes held.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.groups.capacity() * size_of::<Group>()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A hash whose low bits collide a lot (all keys probe from a few groups).
    fn hash(key: Slot) -> u64 {
        u64::from(key % 3) | u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) & !0xff
    }

    #[test]
    fn insert_find_replace_remove_with_collisions_and_growth() {
        let mut index = Index::default();
        assert_eq!(index.find(hash(1), |_| true), None);
        for key in 0..5000 {
            index.insert(hash(key), key, hash);
        }
        assert_eq!(index.len(), 5000);
        assert_eq!(size_of::<Group>(), 64);
        for key in 0..5000 {
            assert_eq!(index.find(hash(key), |s| s == key), Some(key));
        }
        assert_eq!(index.find(hash(7000), |s| s == 7000), None);
        assert_eq!(index.replace(hash(10), 10, |s| s == 10), Some(10));
        for key in (0..5000).step_by(2) {
            assert_eq!(index.remove(hash(key), |s| s == key), Some(key));
        }
        assert_eq!(index.remove(hash(0), |s| s == 0), None);
        for key in 0..5000 {
            let found = index.find(hash(key), |s| s == key);
            assert_eq!(found, (key % 2 == 1).then_some(key), "{key}");
        }
        for key in 5000..9000 {
            index.insert(hash(key), key, hash);
        }
        assert_eq!(index.len(), 2500 + 4000);
        let mut renamed = 0;
        for slot in index.slots_mut() {
            *slot += 0; // renaming keeps every entry reachable
            renamed += 1;
        }
        assert_eq!(renamed, index.len());
        assert!((5000..9000).all(|key| index.find(hash(key), |s| s == key) == Some(key)));
        assert!(index.candidates(hash(3)).any(|s| s == 3));
        assert!(index.memory_bytes() >= 6500 * 64 / WIDTH);
    }
}
