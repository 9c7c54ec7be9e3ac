//! Bulk load: many Tokens from one JSON array or NDJSON (one Token per line) in one call.
//!
//! All or nothing: every record is parsed and validated first, into records built aside (each
//! thread with its own string pool); only when all are good are they applied. Nothing of a bad load
//! is stored, and the error names the first bad record (NDJSON: 1-based line; array: 0-based index).
//! Applying goes shard by shard in chunks of [`CHUNK`] tokens per write lock, so readers wait at most
//! one chunk. A load is not atomic for readers: they may see some shards loaded and others not yet,
//! but always whole tokens. Within a load, a later record with the same key replaces an earlier one.
//! NDJSON larger than 1 MiB is parsed on several threads.

use std::num::NonZeroUsize;

use hashbrown::DefaultHashBuilder;
use serde::de::{Deserializer as _, Error as _, SeqAccess, Visitor};

use crate::errors::CoreError;
use crate::tokens::arena::ALIGN;
use crate::tokens::cache::TokenCache;
use crate::tokens::entry::{encode, key_hash, remap, PartyName};
use crate::tokens::parse::{json_error, parse_token, TokenRecord};
use crate::tokens::pool::{Pool, Sym, NO_SYM};
use crate::tokens::record::Record;

/// Tokens applied under one write lock.
pub(crate) const CHUNK: usize = 1024;

/// NDJSON at least this long is parsed on several threads.
const PARALLEL_FROM: usize = 1 << 20;

/// Records built aside, with the pool their symbols refer to, and each one's key hash and start.
#[derive(Default)]
struct Staged {
    pool: Pool,
    bytes: Vec<u8>,
    records: Vec<(u64, usize)>,
}

impl Staged {
    fn add(&mut self, hasher: &DefaultHashBuilder, record: &TokenRecord<'_>) -> Result<(), CoreError> {
        record.validate()?;
        let hash = key_hash(hasher, record.uid.as_bytes(), record.kind);
        let party = PartyName::new(&record.country_code, &record.party_id);
        if let (Some(hash), Some(party)) = (hash, party) {
            let party = self.pool.intern(party.as_str());
            self.records.push((hash, self.bytes.len()));
            encode(record, party, &mut self.pool, &mut self.bytes);
        }
        Ok(())
    }

    /// The record that starts at `start`.
    fn record(&self, start: usize) -> &[u8] {
        let rest = self.bytes.get(start..).unwrap_or_default();
        rest.get(..Record::stored_len(rest)).unwrap_or_default()
    }
}

/// Stages NDJSON lines; on failure, the 1-based line within `bytes` and the error.
fn stage_lines(hasher: &DefaultHashBuilder, bytes: &[u8]) -> Result<Staged, (usize, CoreError)> {
    let mut staged = Staged::default();
    for (number, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        parse_token(line)
            .and_then(|record| staged.add(hasher, &record))
            .map_err(|error| (number + 1, error))?;
    }
    Ok(staged)
}

/// Splits `bytes` into about `parts` pieces that end at a newline.
fn split_lines(bytes: &[u8], parts: usize) -> Vec<(usize, &[u8])> {
    let mut pieces = Vec::with_capacity(parts);
    let mut start = 0;
    let step = bytes.len() / parts.max(1) + 1;
    while start < bytes.len() {
        let target = (start + step).min(bytes.len());
        let end = bytes
            .get(target..)
            .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
            .map_or(bytes.len(), |at| target + at + 1);
        pieces.push((start, bytes.get(start..end).unwrap_or_default()));
        start = end;
    }
    pieces
}

/// Stages NDJSON, on several threads when it is large.
fn stage_ndjson(hasher: &DefaultHashBuilder, bytes: &[u8]) -> Result<Vec<Staged>, CoreError> {
    // Small inputs first: `available_parallelism` reads cgroup files on every call (tens of µs), and
    // every token change a worker follows is a small load.
    let threads = if bytes.len() >= PARALLEL_FROM {
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get).min(8)
    } else {
        1
    };
    let pieces = if threads > 1 {
        split_lines(bytes, threads)
    } else {
        vec![(0, bytes)]
    };
    let results: Vec<_> = if pieces.len() == 1 {
        pieces.iter().map(|(_, piece)| stage_lines(hasher, piece)).collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = pieces
                .iter()
                .map(|(_, piece)| scope.spawn(|| stage_lines(hasher, piece)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        })
    };
    let mut staged = Vec::with_capacity(results.len());
    for ((start, _), result) in pieces.iter().zip(results) {
        match result {
            Ok(piece) => staged.push(piece),
            Err((line, error)) => {
                #[allow(clippy::naive_bytecount)] // only on the error path: not worth a crate
                let before = bytes
                    .get(..*start)
                    .unwrap_or_default()
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                return Err(CoreError::BulkRecord {
                    line: true,
                    number: before + line,
                    source: Box::new(error),
                });
            }
        }
    }
    Ok(staged)
}

/// Stages the elements of a JSON array, remembering the first bad one.
struct ArrayVisitor<'s> {
    staged: &'s mut Staged,
    hasher: &'s DefaultHashBuilder,
    failure: &'s mut Option<(usize, CoreError)>,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of Tokens")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for index in 0.. {
            let record = match seq.next_element::<TokenRecord<'de>>() {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(error) => {
                    *self.failure = Some((
                        index,
                        CoreError::InvalidJson {
                            what: "token",
                            detail: error.to_string(),
                        },
                    ));
                    return Err(error);
                }
            };
            if let Err(error) = self.staged.add(self.hasher, &record) {
                *self.failure = Some((index, error));
                return Err(A::Error::custom("invalid token"));
            }
        }
        Ok(())
    }
}

fn stage_array(hasher: &DefaultHashBuilder, bytes: &[u8]) -> Result<Staged, CoreError> {
    let mut staged = Staged::default();
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = (&mut de)
        .deserialize_seq(ArrayVisitor {
            staged: &mut staged,
            hasher,
            failure: &mut failure,
        })
        .and_then(|()| de.end());
    if let Some((index, error)) = failure {
        return Err(CoreError::BulkRecord {
            line: false,
            number: index,
            source: Box::new(error),
        });
    }
    result.map_err(|error| json_error("token list", &error))?;
    Ok(staged)
}

impl TokenCache {
    /// Loads a JSON array or NDJSON of Tokens: all of them, or none when one is bad.
    /// Returns (added, replaced).
    pub(crate) fn load(&self, bytes: &[u8]) -> Result<(usize, usize), CoreError> {
        let staged = match bytes.trim_ascii_start().first() {
            Some(b'[') => vec![stage_array(&self.hasher, bytes)?],
            _ => stage_ndjson(&self.hasher, bytes)?,
        };
        let (mut added, mut replaced) = (0, 0);
        for piece in staged {
            let (a, r) = self.apply(&piece);
            added += a;
            replaced += r;
        }
        Ok((added, replaced))
    }

    /// Moves staged records into their shards, translating their symbols into each shard's pool.
    fn apply(&self, staged: &Staged) -> (usize, usize) {
        let mut buckets: Vec<Vec<(u64, usize)>> = self.shards().iter().map(|_| Vec::new()).collect();
        for (hash, start) in &staged.records {
            if let Some(bucket) = buckets.get_mut(self.shard_index(*hash)) {
                bucket.push((*hash, *start));
            }
        }
        let (mut added, mut replaced) = (0, 0);
        let mut scratch = Vec::new();
        for (lock, bucket) in self.shards().iter().zip(buckets) {
            // renamed[staged symbol] = the shard's symbol, valid while the shard is not cleared.
            let mut renamed: Vec<Sym> = vec![NO_SYM; staged.pool.len()];
            let mut epoch = None;
            if !bucket.is_empty() {
                let bytes = bucket
                    .iter()
                    .map(|(_, start)| staged.record(*start).len().next_multiple_of(ALIGN))
                    .sum();
                lock.write().reserve_records(bucket.len(), bytes, &self.hasher);
            }
            let mut bucket = bucket.into_iter().peekable();
            while bucket.peek().is_some() {
                let mut shard = lock.write();
                if epoch.replace(shard.epoch).is_some_and(|seen| seen != shard.epoch) {
                    renamed.fill(NO_SYM);
                }
                shard.reserve(bucket.len().min(CHUNK), &self.hasher);
                for (hash, start) in bucket.by_ref().take(CHUNK) {
                    scratch.clear();
                    scratch.extend_from_slice(staged.record(start));
                    remap(&mut scratch, |sym| match renamed.get_mut(sym as usize) {
                        Some(known) if *known != NO_SYM => *known,
                        Some(unknown) => {
                            *unknown = shard.pool.intern(staged.pool.get(sym));
                            *unknown
                        }
                        None => NO_SYM,
                    });
                    if shard.upsert(hash, Record::new(&scratch), &self.hasher) {
                        added += 1;
                    } else {
                        replaced += 1;
                    }
                }
            }
        }
        (added, replaced)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::cache::Key;
    use crate::tokens::model::TokenType;
    use crate::tokens::whitelist::AllowedPolicy;

    fn line(i: usize) -> String {
        format!(
            r#"{{"country_code":"NL","party_id":"P{}","uid":"U{i}","type":"RFID","contract_id":"C{i}","issuer":"I","group_id":"G{}","valid":true,"whitelist":"ALWAYS","last_updated":"2020-01-01T00:00:00Z"}}"#,
            i % 3,
            i / 2
        )
    }

    fn ndjson(n: usize) -> String {
        (0..n).map(line).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn ndjson_and_array_load_the_same_tokens() {
        let a = TokenCache::new(8, AllowedPolicy::Local);
        assert_eq!(a.load(format!("\n{}\r\n\n", ndjson(50)).as_bytes()).unwrap(), (50, 0));
        let b = TokenCache::new(8, AllowedPolicy::Local);
        let array = format!("[{}]", (0..50).map(line).collect::<Vec<_>>().join(","));
        assert_eq!(b.load(array.as_bytes()).unwrap(), (50, 0));
        assert_eq!(b.load(array.as_bytes()).unwrap(), (0, 50));
        for i in 0..50 {
            let uid = format!("U{i}");
            let key = Key::new("NL", &format!("P{}", i % 3), &uid, TokenType::Rfid).unwrap();
            assert_eq!(a.get(&key), b.get(&key));
            assert!(a.get(&key).is_some());
        }
        assert_eq!(a.count("NL", "P0") + a.count("NL", "P1") + a.count("NL", "P2"), 50);
        assert_eq!(a.load(b"").unwrap(), (0, 0));
        assert_eq!(a.load(b"[]").unwrap(), (0, 0));
    }

    #[test]
    fn a_bad_record_names_its_place_and_nothing_is_stored() {
        let cache = TokenCache::new(8, AllowedPolicy::Local);
        let mut lines: Vec<String> = (0..10).map(line).collect();
        lines[6] = lines[6].replace(r#""uid":"U6""#, r#""uid":"""#);
        let err = cache.load(lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "Field `uid` is empty - at line 7; nothing was loaded");
        let err = cache
            .load(format!("[{}]", lines.join(",")).as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "Field `uid` is empty - at index 6; nothing was loaded");
        let err = cache
            .load(format!("[{},{{\"uid\":", line(0)).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Invalid token JSON: EOF") && err.ends_with("at index 1; nothing was loaded"),
            "{err}"
        );
        assert!(cache
            .load(b"[] x")
            .unwrap_err()
            .to_string()
            .starts_with("Invalid token list JSON"));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn large_ndjson_is_split_on_lines_and_errors_keep_their_global_line() {
        let cache = TokenCache::new(16, AllowedPolicy::Local);
        let text = ndjson(8000);
        assert!(text.len() >= PARALLEL_FROM / 2);
        let big = format!("{text}\n{text}");
        assert!(big.len() >= PARALLEL_FROM);
        assert_eq!(cache.load(big.as_bytes()).unwrap(), (8000, 8000));
        let broken = format!("{big}\nnot json");
        let err = cache.load(broken.as_bytes()).unwrap_err().to_string();
        assert!(err.ends_with("at line 16001; nothing was loaded"), "{err}");
        let pieces = split_lines(b"a\nb\nc\nd", 2);
        let joined: Vec<u8> = pieces.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        assert_eq!(joined, b"a\nb\nc\nd");
    }
}
