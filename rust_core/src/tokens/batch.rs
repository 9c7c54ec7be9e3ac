//! Many authorisations in one call: keys in as a JSON array, answers out as a JSON array.
//!
//! For callers with many questions at once (an OCPP local authorisation list, a resync check) and for
//! measuring the cache without the cost of one Python call per lookup.
//!
//! A batch knows its keys ahead, so it overlaps their misses to main memory: it answers the keys
//! shard by shard, under one read lock per shard, in waves of [`WAVE`] keys whose index lines and home
//! buckets it starts loading all together before answering them. (Loading one key ahead while
//! answering another did not help: a load must finish before it retires, so the processor stalls on
//! it long before its key's turn. Nor would a lock per key: a locked instruction waits for every load
//! before it.) The answers are then put back in the order of the request.

use crate::errors::CoreError;
use crate::tokens::cache::{Key, TokenCache};
use crate::tokens::entry::key_hash;
use crate::tokens::model::TokenType;
use crate::tokens::parse::{json_error, Text};
use crate::tokens::render::Found;
use crate::tokens::whitelist::{decide, Decision};

/// One request: `[country_code, party_id, uid, type]`.
type Request<'a> = (Text<'a>, Text<'a>, Text<'a>, TokenType);

/// How many keys a batch starts loading at once, before answering them.
const WAVE: usize = 8;

/// Keys of one batch that can name a cached token: (shard, position in the request, hash, key).
type Located<'a> = (usize, usize, u64, Key<'a>);

impl TokenCache {
    /// Answers `[[country_code, party_id, uid, type], ...]` with
    /// `[{"action": ..., "allowed": ... | null, "token": {...} | null}, ...]`, in the same order.
    pub(crate) fn authorize_many(&self, requests: &[u8], emsp_reachable: bool) -> Result<Vec<u8>, CoreError> {
        let requests: Vec<Request<'_>> =
            serde_json::from_slice(requests).map_err(|e| json_error("authorisation request list", &e))?;
        let located: Vec<Located<'_>> = requests
            .iter()
            .enumerate()
            .filter_map(|(at, (country_code, party_id, uid, kind))| {
                let key = Key::new(country_code, party_id, uid, *kind)?;
                let hash = key_hash(&self.hasher, key.uid.as_bytes(), key.kind)?;
                Some((self.shard_index(hash), at, hash, key))
            })
            .collect();
        let located = by_shard(located, self.shards().len());
        // Each answer's place in `answers`; keys that cannot name a token keep the unknown answer.
        let mut spans: Vec<Option<(usize, usize)>> = vec![None; requests.len()];
        let mut answers = Vec::with_capacity(located.len() * 360);
        for group in located.chunk_by(|a, b| a.0 == b.0) {
            let Some(lock) = group.first().and_then(|(shard, ..)| self.shards().get(*shard)) else {
                continue;
            };
            let shard = lock.read();
            for wave in group.chunks(WAVE) {
                for (_, _, hash, _) in wave {
                    shard.preload(*hash);
                }
                for (_, at, hash, key) in wave {
                    let found = shard.find(*hash, key).map(|slot| shard.found(slot));
                    let decision = decide(found.map(|f| f.record.state()), emsp_reachable, self.policy());
                    let start = answers.len();
                    write_answer(&mut answers, decision, found.as_ref());
                    if let Some(span) = spans.get_mut(*at) {
                        *span = Some((start, answers.len()));
                    }
                }
            }
        }
        let mut unknown = Vec::new();
        write_answer(&mut unknown, decide(None, emsp_reachable, self.policy()), None);
        let mut out =
            Vec::with_capacity(answers.len() + unknown.len() * (requests.len() - located.len()) + requests.len() + 2);
        out.push(b'[');
        for (i, span) in spans.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let answer = span.and_then(|(start, end)| answers.get(start..end));
            out.extend_from_slice(answer.unwrap_or(&unknown));
        }
        out.push(b']');
        Ok(out)
    }
}

/// The keys grouped by shard, in request order within each shard (a counting sort: one pass to count,
/// one to place).
fn by_shard(located: Vec<Located<'_>>, shards: usize) -> Vec<Located<'_>> {
    let mut starts = vec![0_usize; shards + 1];
    for (shard, ..) in &located {
        if let Some(count) = starts.get_mut(shard + 1) {
            *count += 1;
        }
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut placed: Vec<Option<Located<'_>>> = vec![None; located.len()];
    for entry in located {
        if let Some(next) = starts.get_mut(entry.0) {
            if let Some(place) = placed.get_mut(*next) {
                *place = Some(entry);
            }
            *next += 1;
        }
    }
    placed.into_iter().flatten().collect()
}

/// Writes one answer object: `{"action": ..., "allowed": ... | null, "token": {...} | null}`.
fn write_answer(out: &mut Vec<u8>, decision: Decision, found: Option<&Found<'_>>) {
    out.extend_from_slice(b"{\"action\":\"");
    out.extend_from_slice(decision.action.as_str().as_bytes());
    match decision.allowed {
        Some(allowed) => {
            out.extend_from_slice(b"\",\"allowed\":\"");
            out.extend_from_slice(allowed.as_str().as_bytes());
            out.extend_from_slice(b"\",\"token\":");
        }
        None => out.extend_from_slice(b"\",\"allowed\":null,\"token\":"),
    }
    match found {
        Some(found) => found.write_json(out),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tokens::model::AllowedType;
    use crate::tokens::parse::parse_token;
    use crate::tokens::whitelist::AllowedPolicy;

    #[test]
    fn batch_answers_in_order_with_unknown_tokens_as_null() {
        let cache = TokenCache::new(4, AllowedPolicy::Local);
        let json = br#"{"country_code":"NL","party_id":"TNM","uid":"012345678","type":"RFID","contract_id":"NL8ACC12E46L89","issuer":"TNM","valid":true,"whitelist":"ALWAYS","last_updated":"2015-06-29T22:39:09Z"}"#;
        cache.put(&parse_token(json).unwrap());
        let out = cache
            .authorize_many(br#"[["nl","tnm","012345678","RFID"],["NL","TNM","nope","RFID"]]"#, true)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = format!(
            r#"[{{"action":"ANSWER_LOCALLY","allowed":"ALLOWED","token":{}}},{{"action":"UNKNOWN","allowed":null,"token":null}}]"#,
            std::str::from_utf8(json).unwrap()
        );
        assert_eq!(text, expected);
        assert!(cache.authorize_many(b"[[1,2]]", true).is_err());
        assert_eq!(cache.authorize_many(b"[]", true).unwrap(), b"[]");
    }

    #[test]
    fn batch_answers_like_single_lookups_across_shards_in_request_order() {
        let cache = TokenCache::new(8, AllowedPolicy::Local);
        for i in 0..300 {
            let whitelist = ["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"][i % 4];
            let json = format!(
                r#"{{"country_code":"NL","party_id":"TNM","uid":"U{i}","type":"RFID","contract_id":"C{i}","issuer":"TNM","valid":{},"whitelist":"{whitelist}","last_updated":"2015-06-29T22:39:09Z"}}"#,
                i % 3 != 0
            );
            cache.put(&parse_token(json.as_bytes()).unwrap());
        }
        // Known, unknown, another owner, duplicates, and keys too long to name any token.
        let mut keys: Vec<(String, String, String)> = Vec::new();
        for i in (0..400).rev() {
            keys.push(("nl".into(), "tnm".into(), format!("u{}", i % 350)));
            if i % 7 == 0 {
                keys.push(("DE".into(), "TNM".into(), format!("U{i}")));
                keys.push(("NLD".into(), "TNM".into(), format!("U{i}")));
                keys.push(("NL".into(), "TNM".into(), "X".repeat(40)));
            }
        }
        let body: Vec<[&str; 4]> = keys
            .iter()
            .map(|(c, p, u)| [c.as_str(), p.as_str(), u.as_str(), "RFID"])
            .collect();
        let out = cache
            .authorize_many(&serde_json::to_vec(&body).unwrap(), false)
            .unwrap();
        let answers: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(answers.len(), keys.len());
        for ((c, p, u), answer) in keys.iter().zip(&answers) {
            let single = cache.authorize(Key::new(c, p, u, TokenType::Rfid).as_ref(), false);
            assert_eq!(answer["action"], single.decision.action.as_str(), "{c} {p} {u}");
            assert_eq!(
                answer["allowed"].as_str(),
                single.decision.allowed.map(AllowedType::as_str)
            );
            let token = single
                .token
                .map(|t| serde_json::from_slice::<serde_json::Value>(&t).unwrap());
            assert_eq!(answer["token"], token.unwrap_or(serde_json::Value::Null));
        }
        assert!(answers.iter().any(|a| a["token"].is_object()) && answers.iter().any(|a| a["token"].is_null()));
    }
}
