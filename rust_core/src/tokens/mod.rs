//! The token cache of the CPO side: every token of every eMSP, compact, with the whitelist decision.
//!
//! - `model`: the OCPI enums (one byte each) and `DateTime` (microseconds; stored as a `Stamp`).
//! - `parse`: Token and Token PATCH from JSON bytes, validated; `patch`: applying a PATCH.
//! - `pool`, `record`, `entry`, `arena`: the compact form of a cached token; `index`: a shard's hash index;
//!   `render`: a token's JSON.
//! - `cache`, `shard`: the sharded, thread-safe cache; `bulk`: loading many tokens at once; `batch`: many
//!   authorisations at once.
//! - `whitelist`: the decision of OCPI 2.2.1 tokens section 4, as one pure function.
//! - `ingest`: many tokens validated for the store, with their keys and JSON as the Python model writes it.
//!
//! Nothing here uses `PyO3`; `bindings::tokens` wraps it.

pub(crate) mod arena;
pub(crate) mod batch;
pub(crate) mod bulk;
pub(crate) mod cache;
pub(crate) mod entry;
pub(crate) mod index;
pub(crate) mod ingest;
pub(crate) mod model;
pub(crate) mod parse;
pub(crate) mod patch;
pub(crate) mod pool;
pub(crate) mod record;
pub(crate) mod render;
pub(crate) mod shard;
pub(crate) mod whitelist;
