//! A string pool: each distinct string is kept once and named by a 4-byte [`Sym`].
//!
//! Used for what repeats across tokens and is not read on every answer: the owner party (for counting
//! tokens per owner) and energy suppliers.
//! A pool only grows until it is cleared; it is bounded by the number of distinct values.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

use crate::tokens::entry::{heap_size, needs_escape};
use crate::tokens::render::escape;

/// The name of a string in a [`Pool`].
pub(crate) type Sym = u32;

/// The symbol of an absent optional value.
pub(crate) const NO_SYM: Sym = Sym::MAX;

/// Distinct strings, each stored once.
#[derive(Default)]
pub(crate) struct Pool {
    strings: Vec<Box<str>>,
    /// Per string: its JSON-escaped form, when it differs (rarely).
    escaped: Vec<Option<Box<[u8]>>>,
    index: HashTable<Sym>,
    hasher: DefaultHashBuilder,
}

impl Pool {
    /// The symbol of `text`, adding it when it is new.
    pub(crate) fn intern(&mut self, text: &str) -> Sym {
        let hash = self.hasher.hash_one(text);
        let strings = &self.strings;
        if let Some(sym) = self.index.find(hash, |sym| lookup(strings, *sym) == text) {
            return *sym;
        }
        let sym = Sym::try_from(self.strings.len()).unwrap_or(NO_SYM - 1);
        self.strings.push(text.into());
        self.escaped.push(needs_escape(text.as_bytes()).then(|| {
            let mut out = Vec::new();
            escape(&mut out, text.as_bytes());
            out.into_boxed_slice()
        }));
        let (strings, hasher) = (&self.strings, &self.hasher);
        self.index
            .insert_unique(hash, sym, |sym| hasher.hash_one(lookup(strings, *sym)));
        sym
    }

    /// The symbol of an optional string ([`NO_SYM`] when absent).
    pub(crate) fn intern_opt(&mut self, text: Option<&str>) -> Sym {
        text.map_or(NO_SYM, |text| self.intern(text))
    }

    /// The symbol of `text` if it is pooled.
    pub(crate) fn find(&self, text: &str) -> Option<Sym> {
        let hash = self.hasher.hash_one(text);
        self.index
            .find(hash, |sym| lookup(&self.strings, *sym) == text)
            .copied()
    }

    /// The string of a symbol as the inside of a JSON string (escaped); empty for [`NO_SYM`].
    pub(crate) fn json(&self, sym: Sym) -> &[u8] {
        match self.escaped.get(sym as usize) {
            Some(Some(escaped)) => escaped,
            _ => self.get(sym).as_bytes(),
        }
    }

    /// How many strings are pooled.
    pub(crate) fn len(&self) -> usize {
        self.strings.len()
    }

    /// The string of a symbol; the empty string for [`NO_SYM`].
    pub(crate) fn get(&self, sym: Sym) -> &str {
        lookup(&self.strings, sym)
    }

    /// Bytes held, counting each string's allocation.
    pub(crate) fn memory_bytes(&self) -> usize {
        let strings: usize = self.strings.iter().map(|s| heap_size(s.len())).sum();
        strings
            + self.strings.capacity() * size_of::<Box<str>>()
            + self.escaped.capacity() * size_of::<Option<Box<[u8]>>>()
            + self.escaped.iter().flatten().map(|e| heap_size(e.len())).sum::<usize>()
            + self.index.allocation_size()
    }
}

/// The string of `sym` in `strings`; the empty string when there is none.
fn lookup(strings: &[Box<str>], sym: Sym) -> &str {
    strings.get(sym as usize).map_or("", |s| s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn interning_twice_gives_the_same_symbol() {
        let mut pool = Pool::default();
        let a = pool.intern("TheNewMotion");
        let b = pool.intern("Greenpeace");
        assert_eq!(pool.intern("TheNewMotion"), a);
        assert_ne!(a, b);
        assert_eq!(pool.get(b), "Greenpeace");
        let quoted = pool.intern("The \"New\" Motion");
        assert_eq!(
            (pool.json(b), pool.json(quoted)),
            (&b"Greenpeace"[..], &br#"The \"New\" Motion"#[..])
        );
        assert_eq!(pool.get(NO_SYM), "");
        assert_eq!(pool.intern_opt(None), NO_SYM);
        assert_eq!(pool.find("Greenpeace"), Some(b));
        assert_eq!(pool.find("nope"), None);
        assert_eq!(pool.len(), 3);
        assert!(pool.memory_bytes() > 0);
    }
}
