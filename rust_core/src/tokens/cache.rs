//! The token cache: every token of every eMSP, in shards behind `parking_lot` read-write locks.
//!
//! Keys are (`country_code`, `party_id`, uid, type), compared without ASCII case (they are `CiStrings`):
//! country code and party id are stored upper-case, the uid as the eMSP last sent it. A token lives in
//! the shard chosen by the hash of its uid and type, so one read lock answers any lookup, and
//! `lookup_any` finds a uid across owners by walking a single probe sequence. A shard's index holds
//! 4-byte slots into the shard's arena of records (`shard.rs`; `index.rs` and `arena.rs` say why).
//!
//! Readers hold a read lock for one lookup; writers hold a write lock for one token, or for one chunk
//! of a bulk load (see `bulk.rs`), so a reader never waits long behind a load.

use hashbrown::DefaultHashBuilder;
use parking_lot::RwLock;

use crate::tokens::arena::Slot;
use crate::tokens::entry::{encode, key_hash, PartyName};
use crate::tokens::model::TokenType;
use crate::tokens::parse::TokenRecord;
use crate::tokens::record::Record;
use crate::tokens::render::Found;
use crate::tokens::shard::Shard;
use crate::tokens::whitelist::{decide, AllowedPolicy, Decision};

/// The key of a lookup, normalised.
#[derive(Clone, Copy)]
pub(crate) struct Key<'a> {
    pub(crate) party: PartyName,
    pub(crate) uid: &'a str,
    pub(crate) kind: TokenType,
}

impl<'a> Key<'a> {
    /// The key, or `None` when the parts are too long to name any cached token.
    pub(crate) fn new(country_code: &str, party_id: &str, uid: &'a str, kind: TokenType) -> Option<Self> {
        Some(Self {
            party: PartyName::new(country_code, party_id)?,
            uid,
            kind,
        })
    }
}

/// The answer to an authorisation request: the decision and, when the token is cached, its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorization {
    pub(crate) decision: Decision,
    pub(crate) token: Option<Vec<u8>>,
}

/// Every token of every eMSP, compact, safe to share between threads.
pub(crate) struct TokenCache {
    shards: Box<[RwLock<Shard>]>,
    pub(crate) hasher: DefaultHashBuilder,
    policy: AllowedPolicy,
}

/// The token's JSON in a new `Vec`.
#[cfg(test)]
fn json(found: &Found<'_>) -> Vec<u8> {
    found.json()
}

impl TokenCache {
    /// An empty cache with `shards` shards (rounded up to a power of two, 1 to 1024).
    pub(crate) fn new(shards: usize, policy: AllowedPolicy) -> Self {
        let count = shards.clamp(1, 1024).next_power_of_two();
        Self {
            shards: (0..count).map(|_| RwLock::default()).collect(),
            hasher: DefaultHashBuilder::default(),
            policy,
        }
    }

    /// The policy for `ALLOWED` tokens this cache was built with.
    pub(crate) fn policy(&self) -> AllowedPolicy {
        self.policy
    }

    /// The shards, in order.
    pub(crate) fn shards(&self) -> &[RwLock<Shard>] {
        &self.shards
    }

    /// The index of the shard of a key hash. High bits: the table's bucket index uses the low ones.
    pub(crate) fn shard_index(&self, hash: u64) -> usize {
        (hash >> 40) as usize & (self.shards.len() - 1)
    }

    pub(crate) fn shard(&self, hash: u64) -> &RwLock<Shard> {
        // In bounds: shard_index masks with len - 1, and len is a power of two >= 1.
        &self.shards[self.shard_index(hash)]
    }

    /// Inserts or replaces a validated token. True when it was new.
    pub(crate) fn put(&self, record: &TokenRecord<'_>) -> bool {
        let (Some(hash), Some(party)) = (
            key_hash(&self.hasher, record.uid.as_bytes(), record.kind),
            PartyName::new(&record.country_code, &record.party_id),
        ) else {
            return false; // unreachable for validated records
        };
        let mut bytes = Vec::with_capacity(128);
        let mut shard = self.shard(hash).write();
        let party = shard.pool.intern(party.as_str());
        encode(record, party, &mut shard.pool, &mut bytes);
        shard.upsert(hash, Record::new(&bytes), &self.hasher)
    }

    /// Removes a token. True when it was cached.
    pub(crate) fn remove(&self, key: &Key<'_>) -> bool {
        let Some(hash) = key_hash(&self.hasher, key.uid.as_bytes(), key.kind) else {
            return false;
        };
        let mut guard = self.shard(hash).write();
        let Shard {
            table, arena, counts, ..
        } = &mut *guard;
        let matches = |s: Slot| arena.get(s).matches(&key.party, key.uid, key.kind);
        let Some(slot) = table.remove(hash, matches) else {
            return false;
        };
        if let Some(count) = counts.get_mut(&arena.get(slot).party()) {
            *count = count.saturating_sub(1);
        }
        arena.free(slot);
        guard.compact_if_worth(&self.hasher);
        true
    }

    /// The cached token as OCPI Token JSON.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &Key<'_>) -> Option<Vec<u8>> {
        self.get_with(key, json)
    }

    /// `emit` of the cached token, called under the shard's read lock (keep it short).
    pub(crate) fn get_with<R>(&self, key: &Key<'_>, emit: impl FnOnce(&Found<'_>) -> R) -> Option<R> {
        let hash = key_hash(&self.hasher, key.uid.as_bytes(), key.kind)?;
        let shard = self.shard(hash).read();
        shard.find(hash, key).map(|slot| emit(&shard.found(slot)))
    }

    /// The whitelist decision for a key, with the token's JSON when it is cached.
    #[cfg(test)]
    pub(crate) fn authorize(&self, key: Option<&Key<'_>>, emsp_reachable: bool) -> Authorization {
        let (decision, token) = self.authorize_with(key, emsp_reachable, json);
        Authorization { decision, token }
    }

    /// The whitelist decision for a key and, when the token is cached, `emit` of it (called under the
    /// shard's read lock: keep it short).
    pub(crate) fn authorize_with<R>(
        &self,
        key: Option<&Key<'_>>,
        emsp_reachable: bool,
        emit: impl FnOnce(&Found<'_>) -> R,
    ) -> (Decision, Option<R>) {
        let mut state = None;
        let emitted = key.and_then(|key| {
            self.get_with(key, |found| {
                state = Some(found.record.state());
                emit(found)
            })
        });
        (decide(state, emsp_reachable, self.policy), emitted)
    }

    /// The decision for every cached token with this uid and type, whatever its owner, ordered by owner.
    pub(crate) fn lookup_any(&self, uid: &str, kind: TokenType, emsp_reachable: bool) -> Vec<Authorization> {
        let Some(hash) = key_hash(&self.hasher, uid.as_bytes(), kind) else {
            return Vec::new();
        };
        let shard = self.shard(hash).read();
        let mut found: Vec<(&str, Authorization)> = shard
            .table
            .candidates(hash)
            .map(|slot| shard.found(slot))
            .filter(|f| f.record.kind() == kind && f.record.uid().eq_ignore_ascii_case(uid.as_bytes()))
            .map(|f| {
                let decision = decide(Some(f.record.state()), emsp_reachable, self.policy);
                let token = Some(f.json());
                (shard.pool.get(f.record.party()), Authorization { decision, token })
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(b.0));
        found.into_iter().map(|(_, authorization)| authorization).collect()
    }

    /// How many tokens are cached.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.read().table.len()).sum()
    }

    /// How many tokens of one owner are cached.
    pub(crate) fn count(&self, country_code: &str, party_id: &str) -> usize {
        let Some(party) = PartyName::new(country_code, party_id) else {
            return 0;
        };
        let count_in = |shard: &Shard| {
            shard
                .pool
                .find(party.as_str())
                .and_then(|sym| shard.counts.get(&sym).copied())
        };
        self.shards
            .iter()
            .map(|shard| count_in(&shard.read()).unwrap_or(0))
            .sum()
    }

    /// Drops every token. Each shard's memory is freed after its lock is released.
    pub(crate) fn clear(&self) {
        for shard in &*self.shards {
            let mut guard = shard.write();
            let epoch = guard.epoch + 1;
            let old = std::mem::replace(
                &mut *guard,
                Shard {
                    epoch,
                    ..Shard::default()
                },
            );
            drop(guard);
            drop(old);
        }
    }

    /// Bytes the cache holds: table slots, record arenas, pools and counters.
    pub(crate) fn memory_bytes(&self) -> usize {
        let shard_bytes = |shard: &Shard| {
            shard.table.memory_bytes()
                + shard.arena.memory_bytes()
                + shard.pool.memory_bytes()
                + shard.counts.allocation_size()
        };
        size_of::<Self>()
            + self
                .shards
                .iter()
                .map(|shard| shard_bytes(&shard.read()) + size_of::<RwLock<Shard>>())
                .sum::<usize>()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::model::{AllowedType, WhitelistType};
    use crate::tokens::parse::{parse_patch, parse_token};
    use crate::tokens::whitelist::Action;

    fn token(cc: &str, pid: &str, uid: &str, whitelist: &str, valid: bool) -> String {
        format!(
            r#"{{"country_code":"{cc}","party_id":"{pid}","uid":"{uid}","type":"RFID","contract_id":"C-{uid}","issuer":"Issuer","valid":{valid},"whitelist":"{whitelist}","last_updated":"2020-01-01T00:00:00Z"}}"#
        )
    }

    fn put(cache: &TokenCache, json: &str) -> bool {
        cache.put(&parse_token(json.as_bytes()).unwrap())
    }

    fn key<'a>(cc: &str, pid: &str, uid: &'a str) -> Key<'a> {
        Key::new(cc, pid, uid, TokenType::Rfid).unwrap()
    }

    #[test]
    fn put_get_remove_with_case_insensitive_keys() {
        let cache = TokenCache::new(8, AllowedPolicy::Local);
        assert!(put(&cache, &token("nl", "tnm", "AbC", "ALWAYS", true)));
        assert!(!put(&cache, &token("NL", "TNM", "abc", "ALWAYS", false)));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.count("nl", "TNM"), 1);
        let json = String::from_utf8(cache.get(&key("Nl", "tNm", "ABC")).unwrap()).unwrap();
        assert!(
            json.starts_with(r#"{"country_code":"NL","party_id":"TNM","uid":"abc""#),
            "{json}"
        );
        assert!(cache
            .get(&Key::new("NL", "TNM", "abc", TokenType::AppUser).unwrap())
            .is_none());
        assert!(cache.remove(&key("NL", "TNM", "ABC")));
        assert!(!cache.remove(&key("NL", "TNM", "ABC")));
        assert_eq!((cache.len(), cache.count("NL", "TNM")), (0, 0));
    }

    /// Share of the cached tokens that sit in their home bucket.
    fn home_share(cache: &TokenCache) -> f64 {
        let (home, all) = cache.shards().iter().fold((0, 0), |(h, a), shard| {
            let (home, all) = shard.read().at_home(&cache.hasher);
            (h + home, a + all)
        });
        home as f64 / all.max(1) as f64
    }

    #[test]
    fn tokens_stay_findable_through_arena_rebuilds_and_most_sit_at_home() {
        let cache = TokenCache::new(2, AllowedPolicy::Local);
        let ndjson: String = (0..20_000)
            .map(|i| token("NL", "TNM", &format!("B{i}"), "ALWAYS", true) + "\n")
            .collect();
        assert_eq!(cache.load(ndjson.as_bytes()).unwrap(), (20_000, 0));
        assert!(home_share(&cache) > 0.85, "{}", home_share(&cache));
        // Single writes: new tokens, replacements (valid goes false) and removals, each of which can
        // rebuild a shard's arena on the way.
        for i in 0..20_000 {
            assert!(put(&cache, &token("DE", "ABC", &format!("S{i}"), "ALLOWED", true)));
        }
        for i in (0..20_000).step_by(2) {
            assert!(!put(&cache, &token("NL", "TNM", &format!("B{i}"), "ALWAYS", false)));
        }
        for i in (1..20_000).step_by(4) {
            assert!(cache.remove(&key("NL", "TNM", &format!("B{i}"))));
        }
        assert_eq!(cache.len(), 35_000);
        for i in 0..20_000 {
            let found = cache
                .get(&key("NL", "TNM", &format!("B{i}")))
                .map(|j| String::from_utf8(j).unwrap());
            match i % 4 {
                1 => assert_eq!(found, None, "B{i}"),
                0 | 2 => assert!(found.unwrap().contains(r#""valid":false"#), "B{i}"),
                _ => assert!(found.unwrap().contains(r#""valid":true"#), "B{i}"),
            }
            assert!(cache.get(&key("DE", "ABC", &format!("S{i}"))).is_some(), "S{i}");
        }
        assert!(home_share(&cache) > 0.7, "{}", home_share(&cache));
    }

    #[test]
    fn authorize_applies_the_whitelist_decision() {
        let cache = TokenCache::new(2, AllowedPolicy::Local);
        put(&cache, &token("NL", "TNM", "1", "NEVER", false));
        let answer = cache.authorize(Some(&key("NL", "TNM", "1")), true);
        assert_eq!(answer.decision.action, Action::AskEmspRealtime);
        assert!(answer.token.is_some());
        let unknown = cache.authorize(Some(&key("NL", "TNM", "2")), true);
        assert_eq!((unknown.decision.action, unknown.token), (Action::Unknown, None));
        assert_eq!(cache.authorize(None, true).decision.action, Action::Unknown);
    }

    #[test]
    fn lookup_any_finds_the_uid_under_every_owner() {
        let cache = TokenCache::new(1, AllowedPolicy::Local);
        put(&cache, &token("NL", "TNM", "X1", "ALWAYS", true));
        put(&cache, &token("DE", "ABC", "x1", "ALWAYS", false));
        put(&cache, &token("DE", "ABC", "X2", "ALWAYS", true));
        let found = cache.lookup_any("X1", TokenType::Rfid, true);
        let allowed: Vec<_> = found.iter().map(|a| a.decision.allowed).collect();
        assert_eq!(allowed, [Some(AllowedType::Blocked), Some(AllowedType::Allowed)]);
        assert!(cache.lookup_any("X1", TokenType::Other, true).is_empty());
        assert!(cache.lookup_any(&"X".repeat(40), TokenType::Rfid, true).is_empty());
    }

    #[test]
    fn patch_replaces_present_fields_and_refuses_another_key() {
        let cache = TokenCache::new(4, AllowedPolicy::Local);
        put(&cache, &token("NL", "TNM", "P1", "ALLOWED", true));
        let patch =
            parse_patch(br#"{"valid":false,"whitelist":"NEVER","group_id":"G","last_updated":"2021-01-01T00:00:00Z"}"#)
                .unwrap();
        assert!(cache.patch(&key("nl", "tnm", "p1"), &patch).unwrap());
        let json = String::from_utf8(cache.get(&key("NL", "TNM", "P1")).unwrap()).unwrap();
        assert!(
            json.contains(r#""group_id":"G","valid":false,"whitelist":"NEVER""#),
            "{json}"
        );
        assert!(json.contains("2021-01-01T00:00:00Z") && json.contains(r#""contract_id":"C-P1""#));
        assert!(!cache.patch(&key("NL", "TNM", "P2"), &patch).unwrap());
        let other = parse_patch(br#"{"uid":"P9","last_updated":"2021-01-01T00:00:00Z"}"#).unwrap();
        assert!(cache.patch(&key("NL", "TNM", "P1"), &other).is_err());
        let same = parse_patch(br#"{"uid":"p1","type":"RFID","last_updated":"2021-01-01T00:00:00Z"}"#).unwrap();
        assert!(cache.patch(&key("NL", "TNM", "P1"), &same).unwrap());
        assert_eq!(cache.count("NL", "TNM"), 1);
    }

    #[test]
    fn clear_empties_and_memory_is_counted() {
        let cache = TokenCache::new(4, AllowedPolicy::Realtime);
        for i in 0..100 {
            put(&cache, &token("NL", "TNM", &i.to_string(), "ALLOWED", true));
        }
        assert_eq!(cache.len(), 100);
        assert!(cache.memory_bytes() > 100 * 56);
        assert_eq!(
            cache.authorize(Some(&key("NL", "TNM", "7")), true).decision.action,
            Action::AskEmspElseLocal
        );
        cache.clear();
        assert_eq!((cache.len(), cache.count("NL", "TNM")), (0, 0));
        assert_eq!(WhitelistType::Allowed.as_str(), "ALLOWED");
    }
}
