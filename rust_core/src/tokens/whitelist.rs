//! The whitelist decision of OCPI 2.2.1 (tokens module, section 4), as one pure function.
//!
//! | token               | eMSP reachable | action                 | allowed                          |
//! |---------------------|----------------|------------------------|----------------------------------|
//! | not cached          | any            | `UNKNOWN`              | none                             |
//! | `ALWAYS`            | any            | `ANSWER_LOCALLY`       | `ALLOWED` if valid, else BLOCKED |
//! | `ALLOWED`, policy LOCAL | any        | `ANSWER_LOCALLY`       | `ALLOWED` if valid, else BLOCKED |
//! | `ALLOWED`, policy REALTIME | yes     | `ASK_EMSP_ELSE_LOCAL`  | `ALLOWED` if valid, else BLOCKED |
//! | `ALLOWED`, policy `LOCAL_IF_VALID` | yes | valid: `ANSWER_LOCALLY`; not: `ASK_EMSP_ELSE_LOCAL` | as above |
//! | `ALLOWED`, policy REALTIME or `LOCAL_IF_VALID` | no | `ANSWER_LOCALLY` | `ALLOWED` if valid, else BLOCKED |
//! | `ALLOWED_OFFLINE`   | yes            | `ASK_EMSP_ELSE_LOCAL`  | `ALLOWED` if valid, else BLOCKED |
//! | `ALLOWED_OFFLINE`   | no             | `ANSWER_LOCALLY`       | `ALLOWED` if valid, else BLOCKED |
//! | `NEVER`             | yes            | `ASK_EMSP_REALTIME`    | `NOT_ALLOWED` (the refusal if the eMSP does not answer) |
//! | `NEVER`             | no             | `ANSWER_LOCALLY`       | `NOT_ALLOWED` (no local authorisation) |
//!
//! `allowed` is always the answer to give when no real-time answer is obtained: for the `ASK_*`
//! actions, the fallback when the eMSP then times out or errs. `valid: false` never skips a real-time
//! check the whitelist type requires; it only turns the cached answer into `BLOCKED`.

use crate::errors::CoreError;
use crate::tokens::model::{AllowedType, WhitelistType};

/// What the CPO does for an `ALLOWED` token, chosen once by configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AllowedPolicy {
    /// Answer from the cache.
    Local,
    /// Ask the eMSP; answer from the cache when it cannot be reached.
    Realtime,
    /// Answer valid tokens from the cache; ask the eMSP about invalid ones (they may be valid again).
    LocalIfValid,
}

impl AllowedPolicy {
    /// Every policy.
    pub(crate) const ALL: [Self; 3] = [Self::Local, Self::Realtime, Self::LocalIfValid];

    /// The configuration name: `LOCAL`, `REALTIME` or `LOCAL_IF_VALID`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Local => "LOCAL",
            Self::Realtime => "REALTIME",
            Self::LocalIfValid => "LOCAL_IF_VALID",
        }
    }

    /// Parses a configuration name.
    pub(crate) fn parse(text: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|policy| policy.as_str() == text)
            .ok_or_else(|| CoreError::UnknownValue {
                what: "ALLOWED policy",
                value: text.chars().take(40).collect(),
            })
    }
}

/// What to do with an authorisation request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    /// Answer now with `allowed`, from the cache (OCPI `auth_method` WHITELIST when allowed).
    AnswerLocally,
    /// Real-time authorisation is required; no local authorisation if the eMSP does not answer.
    AskEmspRealtime,
    /// Ask the eMSP in real time; if it does not answer, answer `allowed` from the cache.
    AskEmspElseLocal,
    /// The token is not in the cache: ask the eMSP(s) that do not push their tokens, if any.
    Unknown,
}

impl Action {
    /// The name Python sees.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AnswerLocally => "ANSWER_LOCALLY",
            Self::AskEmspRealtime => "ASK_EMSP_REALTIME",
            Self::AskEmspElseLocal => "ASK_EMSP_ELSE_LOCAL",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// An action and the answer to give when no real-time answer is obtained (`None` only for `Unknown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Decision {
    pub(crate) action: Action,
    pub(crate) allowed: Option<AllowedType>,
}

/// What the decision needs of a cached token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TokenState {
    pub(crate) whitelist: WhitelistType,
    pub(crate) valid: bool,
}

/// The whitelist decision. `emsp_reachable` is false when a real-time answer cannot be had (the eMSP
/// is known to be down, or a real-time call already timed out or failed).
pub(crate) fn decide(token: Option<TokenState>, emsp_reachable: bool, policy: AllowedPolicy) -> Decision {
    let Some(token) = token else {
        return Decision {
            action: Action::Unknown,
            allowed: None,
        };
    };
    let cached = if token.valid {
        AllowedType::Allowed
    } else {
        AllowedType::Blocked
    };
    let local = Decision {
        action: Action::AnswerLocally,
        allowed: Some(cached),
    };
    let ask = Decision {
        action: Action::AskEmspElseLocal,
        allowed: Some(cached),
    };
    match (token.whitelist, emsp_reachable) {
        (WhitelistType::Always, _) | (WhitelistType::Allowed | WhitelistType::AllowedOffline, false) => local,
        (WhitelistType::Allowed, true) => match policy {
            AllowedPolicy::Local => local,
            AllowedPolicy::LocalIfValid if token.valid => local,
            AllowedPolicy::Realtime | AllowedPolicy::LocalIfValid => ask,
        },
        (WhitelistType::AllowedOffline, true) => ask,
        (WhitelistType::Never, true) => Decision {
            action: Action::AskEmspRealtime,
            allowed: Some(AllowedType::NotAllowed),
        },
        (WhitelistType::Never, false) => Decision {
            action: Action::AnswerLocally,
            allowed: Some(AllowedType::NotAllowed),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use AllowedPolicy::{Local, LocalIfValid, Realtime};
    use AllowedType::{Allowed, Blocked, NotAllowed};
    use WhitelistType::{AllowedOffline, Always, Never};

    const LOCALLY: Action = Action::AnswerLocally;
    const ASK: Action = Action::AskEmspElseLocal;
    const REALTIME: Action = Action::AskEmspRealtime;

    #[test]
    fn every_row_of_the_table() {
        let allowed = WhitelistType::Allowed;
        #[rustfmt::skip]
        let rows = [
            // whitelist, valid, reachable, policy, action, allowed
            (Always, true, true, Realtime, LOCALLY, Allowed),
            (Always, false, true, Realtime, LOCALLY, Blocked),
            (Always, true, false, Local, LOCALLY, Allowed),
            (allowed, true, true, Local, LOCALLY, Allowed),
            (allowed, false, true, Local, LOCALLY, Blocked),
            (allowed, true, true, Realtime, ASK, Allowed),
            (allowed, false, true, Realtime, ASK, Blocked),
            (allowed, true, false, Realtime, LOCALLY, Allowed),
            (allowed, true, true, LocalIfValid, LOCALLY, Allowed),
            (allowed, false, true, LocalIfValid, ASK, Blocked),
            (allowed, false, false, LocalIfValid, LOCALLY, Blocked),
            (AllowedOffline, true, true, Local, ASK, Allowed),
            (AllowedOffline, false, true, Local, ASK, Blocked),
            (AllowedOffline, true, false, Local, LOCALLY, Allowed),
            (AllowedOffline, false, false, Local, LOCALLY, Blocked),
            (Never, true, true, Local, REALTIME, NotAllowed),
            (Never, false, true, Local, REALTIME, NotAllowed),
            (Never, true, false, Local, LOCALLY, NotAllowed),
        ];
        for (whitelist, valid, reachable, policy, action, answer) in rows {
            let decision = decide(Some(TokenState { whitelist, valid }), reachable, policy);
            assert_eq!(
                decision,
                Decision {
                    action,
                    allowed: Some(answer)
                },
                "{whitelist:?} {valid} {reachable} {policy:?}"
            );
        }
    }

    #[test]
    fn unknown_token_is_unknown_whatever_else() {
        for policy in AllowedPolicy::ALL {
            for reachable in [true, false] {
                assert_eq!(
                    decide(None, reachable, policy),
                    Decision {
                        action: Action::Unknown,
                        allowed: None
                    }
                );
            }
        }
    }

    #[test]
    fn invalid_token_never_skips_a_required_realtime_check() {
        for policy in AllowedPolicy::ALL {
            for whitelist in [AllowedOffline, Never] {
                let decision = decide(
                    Some(TokenState {
                        whitelist,
                        valid: false,
                    }),
                    true,
                    policy,
                );
                assert_ne!(decision.action, Action::AnswerLocally);
            }
        }
    }

    #[test]
    fn policy_names_parse() {
        for policy in AllowedPolicy::ALL {
            assert_eq!(AllowedPolicy::parse(policy.as_str()).unwrap(), policy);
        }
        assert!(AllowedPolicy::parse("local").is_err());
    }
}
