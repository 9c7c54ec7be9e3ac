//! PATCH of a cached token: the fields present replace the cached ones, nothing else changes.

use crate::errors::CoreError;
use crate::tokens::cache::{Key, TokenCache};
use crate::tokens::entry::{encode, key_hash};
use crate::tokens::parse::{EnergyContract, Text, TokenPatch, TokenRecord};
use crate::tokens::record::{Record, TokenView};

impl TokenCache {
    /// Applies a validated PATCH to a cached token: present fields replace. False when it is not cached.
    pub(crate) fn patch(&self, key: &Key<'_>, patch: &TokenPatch<'_>) -> Result<bool, CoreError> {
        check_patch_key(key, patch)?;
        let Some(hash) = key_hash(&self.hasher, key.uid.as_bytes(), key.kind) else {
            return Ok(false);
        };
        let mut shard = self.shard(hash).write();
        let Some(slot) = shard.find(hash, key) else {
            return Ok(false);
        };
        let record = shard.arena.get(slot);
        let merged = merge(&record.view(&shard.pool), patch);
        let party = record.party();
        let mut bytes = Vec::with_capacity(128);
        encode(&merged, party, &mut shard.pool, &mut bytes);
        shard.upsert(hash, Record::new(&bytes), &self.hasher);
        Ok(true)
    }
}

/// Refuses a PATCH whose identifying fields, when present, name another token.
fn check_patch_key(key: &Key<'_>, patch: &TokenPatch<'_>) -> Result<(), CoreError> {
    let party = key.party.as_str();
    let (country_code, party_id) = party.split_once('\x1f').unwrap_or((party, ""));
    let differs = |given: Option<&Text<'_>>, expected: &str| given.is_some_and(|g| !g.eq_ignore_ascii_case(expected));
    if differs(patch.country_code.as_ref(), country_code) {
        return Err(CoreError::PatchKeyMismatch { field: "country_code" });
    }
    if differs(patch.party_id.as_ref(), party_id) {
        return Err(CoreError::PatchKeyMismatch { field: "party_id" });
    }
    if differs(patch.uid.as_ref(), key.uid) {
        return Err(CoreError::PatchKeyMismatch { field: "uid" });
    }
    if patch.kind.is_some_and(|kind| kind != key.kind) {
        return Err(CoreError::PatchKeyMismatch { field: "type" });
    }
    Ok(())
}

/// The cached token with the PATCH's present fields replacing its own, as an owned record.
fn merge(view: &TokenView<'_>, patch: &TokenPatch<'_>) -> TokenRecord<'static> {
    let own = |text: &str| Text(text.to_owned().into());
    let pick = |patched: Option<&Text<'_>>, current: Option<&str>| patched.map(|t| own(t)).or_else(|| current.map(own));
    let energy_contract = match &patch.energy_contract {
        Some(contract) => Some(EnergyContract {
            supplier_name: own(&contract.supplier_name),
            contract_id: contract.contract_id.as_deref().map(own),
        }),
        None => view.energy_contract.map(|(supplier, id)| EnergyContract {
            supplier_name: own(supplier),
            contract_id: id.map(own),
        }),
    };
    TokenRecord {
        country_code: own(view.country_code),
        party_id: own(view.party_id),
        uid: own(view.uid),
        kind: view.kind,
        contract_id: pick(patch.contract_id.as_ref(), Some(view.contract_id)).unwrap_or_else(|| own("")),
        visual_number: pick(patch.visual_number.as_ref(), view.visual_number),
        issuer: pick(patch.issuer.as_ref(), Some(view.issuer)).unwrap_or_else(|| own("")),
        group_id: pick(patch.group_id.as_ref(), view.group_id),
        valid: patch.valid.unwrap_or(view.valid),
        whitelist: patch.whitelist.unwrap_or(view.whitelist),
        language: pick(patch.language.as_ref(), view.language),
        default_profile_type: patch.default_profile_type.or(view.default_profile_type),
        energy_contract,
        last_updated: patch.last_updated,
    }
}
