//! Many authorisations in one call: keys in as a JSON array, answers out as a JSON array.
//!
//! For callers with many questions at once (an OCPP local authorisation list, a resync check) and for
//! measuring the cache without the cost of one Python call per lookup.

use crate::errors::CoreError;
use crate::tokens::cache::{Key, TokenCache};
use crate::tokens::model::TokenType;
use crate::tokens::parse::{json_error, Text};

/// One request: `[country_code, party_id, uid, type]`.
type Request<'a> = (Text<'a>, Text<'a>, Text<'a>, TokenType);

impl TokenCache {
    /// Answers `[[country_code, party_id, uid, type], ...]` with
    /// `[{"action": ..., "allowed": ... | null, "token": {...} | null}, ...]`, in the same order.
    pub(crate) fn authorize_many(&self, requests: &[u8], emsp_reachable: bool) -> Result<Vec<u8>, CoreError> {
        let requests: Vec<Request<'_>> =
            serde_json::from_slice(requests).map_err(|e| json_error("authorisation request list", &e))?;
        let mut out = Vec::with_capacity(requests.len() * 360 + 2);
        out.push(b'[');
        for (i, (country_code, party_id, uid, kind)) in requests.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let key = Key::new(country_code, party_id, uid, *kind);
            let answer = self.authorize(key.as_ref(), emsp_reachable);
            out.extend_from_slice(b"{\"action\":\"");
            out.extend_from_slice(answer.decision.action.as_str().as_bytes());
            match answer.decision.allowed {
                Some(allowed) => {
                    out.extend_from_slice(b"\",\"allowed\":\"");
                    out.extend_from_slice(allowed.as_str().as_bytes());
                    out.extend_from_slice(b"\",\"token\":");
                }
                None => out.extend_from_slice(b"\",\"allowed\":null,\"token\":"),
            }
            out.extend_from_slice(answer.token.as_deref().unwrap_or(b"null"));
            out.push(b'}');
        }
        out.push(b']');
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
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
}
