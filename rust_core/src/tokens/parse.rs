//! Parsing and validation of an OCPI Token (as PUT by an eMSP) and of a Token PATCH, from JSON bytes.
//!
//! Strings borrow from the input where JSON escapes allow it, so a bulk load copies each string once:
//! into the cache. Unknown fields are ignored (the OCPI 2.3.0 rule, applied to every version).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

use crate::errors::CoreError;
use crate::tokens::model::{parse_datetime, ProfileType, TokenType, WhitelistType};

/// Longest `country_code`, `party_id`, `uid` (`CiString`) and `contract_id` / `group_id` (`CiString`).
pub(crate) const COUNTRY_MAX: usize = 2;
pub(crate) const PARTY_MAX: usize = 3;
pub(crate) const UID_MAX: usize = 36;

/// An OCPI `EnergyContract`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct EnergyContract<'a> {
    #[serde(borrow)]
    pub(crate) supplier_name: Text<'a>,
    #[serde(borrow, default)]
    pub(crate) contract_id: Option<Text<'a>>,
}

/// A validated OCPI `Token`, borrowing its strings from the input where it can.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct TokenRecord<'a> {
    #[serde(borrow)]
    pub(crate) country_code: Text<'a>,
    #[serde(borrow)]
    pub(crate) party_id: Text<'a>,
    #[serde(borrow)]
    pub(crate) uid: Text<'a>,
    #[serde(rename = "type")]
    pub(crate) kind: TokenType,
    #[serde(borrow)]
    pub(crate) contract_id: Text<'a>,
    #[serde(borrow, default)]
    pub(crate) visual_number: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) issuer: Text<'a>,
    #[serde(borrow, default)]
    pub(crate) group_id: Option<Text<'a>>,
    pub(crate) valid: bool,
    pub(crate) whitelist: WhitelistType,
    #[serde(borrow, default)]
    pub(crate) language: Option<Text<'a>>,
    #[serde(default)]
    pub(crate) default_profile_type: Option<ProfileType>,
    #[serde(borrow, default)]
    pub(crate) energy_contract: Option<EnergyContract<'a>>,
    #[serde(rename = "last_updated", deserialize_with = "datetime")]
    pub(crate) last_updated: i64,
}

/// The fields of a Token PATCH. Present fields replace; `last_updated` is required. `null` on an optional
/// field changes nothing (OCPI: a PATCH cannot remove optional data); `null` on a required field is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct TokenPatch<'a> {
    #[serde(borrow, default)]
    pub(crate) country_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(crate) party_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(crate) uid: Option<Text<'a>>,
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<TokenType>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub(crate) contract_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(crate) visual_number: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub(crate) issuer: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(crate) group_id: Option<Text<'a>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) valid: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) whitelist: Option<WhitelistType>,
    #[serde(borrow, default)]
    pub(crate) language: Option<Text<'a>>,
    #[serde(default)]
    pub(crate) default_profile_type: Option<ProfileType>,
    #[serde(borrow, default)]
    pub(crate) energy_contract: Option<EnergyContract<'a>>,
    #[serde(deserialize_with = "datetime")]
    pub(crate) last_updated: i64,
}

/// A JSON string that borrows from the input unless it holds escapes. Unlike `Cow<str>`, it borrows
/// inside an `Option` too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// Builds a [`Text`] from any JSON string, or a plain `&str` from one borrowed or transient.
struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

/// Deserializes a field that may be absent but, when present, must not be `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Deserializes an OCPI `DateTime` into microseconds since the epoch.
fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = Text::<'de>::deserialize(d)?;
    parse_datetime("last_updated", &text).map_err(serde::de::Error::custom)
}

/// Checks a `CiString`: not longer than `max`, printable ASCII only; `required` ones must not be empty.
fn check_ci(field: &'static str, value: &str, max: usize, required: bool) -> Result<(), CoreError> {
    if required && value.is_empty() {
        return Err(CoreError::FieldEmpty { field });
    }
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(CoreError::FieldNotPrintable { field, ascii: true });
    }
    if value.len() > max {
        return Err(CoreError::FieldTooLong { field, max });
    }
    Ok(())
}

/// Checks a string: not longer than `max` characters, no control characters.
fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), CoreError> {
    if value.chars().any(char::is_control) {
        return Err(CoreError::FieldNotPrintable { field, ascii: false });
    }
    if value.chars().count() > max {
        return Err(CoreError::FieldTooLong { field, max });
    }
    Ok(())
}

/// Checks the optional fields shared by a Token and a Token PATCH.
fn check_optional(
    visual_number: Option<&Text<'_>>,
    group_id: Option<&Text<'_>>,
    language: Option<&Text<'_>>,
    energy_contract: Option<&EnergyContract<'_>>,
) -> Result<(), CoreError> {
    if let Some(value) = visual_number {
        check_text("visual_number", value, 64)?;
    }
    if let Some(value) = group_id {
        check_ci("group_id", value, 36, false)?;
    }
    if let Some(value) = language {
        check_text("language", value, 2)?;
    }
    if let Some(contract) = energy_contract {
        check_text("energy_contract.supplier_name", &contract.supplier_name, 64)?;
        if let Some(value) = &contract.contract_id {
            check_text("energy_contract.contract_id", value, 64)?;
        }
    }
    Ok(())
}

impl TokenRecord<'_> {
    /// Checks lengths and character sets that JSON typing alone does not.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        check_ci("country_code", &self.country_code, COUNTRY_MAX, true)?;
        check_ci("party_id", &self.party_id, PARTY_MAX, true)?;
        check_ci("uid", &self.uid, UID_MAX, true)?;
        check_ci("contract_id", &self.contract_id, 36, true)?;
        check_text("issuer", &self.issuer, 64)?;
        let contract = self.energy_contract.as_ref();
        check_optional(
            self.visual_number.as_ref(),
            self.group_id.as_ref(),
            self.language.as_ref(),
            contract,
        )
    }
}

impl TokenPatch<'_> {
    /// Checks lengths and character sets of the fields present.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        if let Some(value) = &self.contract_id {
            check_ci("contract_id", value, 36, true)?;
        }
        if let Some(value) = &self.issuer {
            check_text("issuer", value, 64)?;
        }
        let contract = self.energy_contract.as_ref();
        check_optional(
            self.visual_number.as_ref(),
            self.group_id.as_ref(),
            self.language.as_ref(),
            contract,
        )
    }
}

/// Maps a `serde_json` error to the crate error, naming what was parsed.
pub(crate) fn json_error(what: &'static str, err: &serde_json::Error) -> CoreError {
    CoreError::InvalidJson {
        what,
        detail: err.to_string(),
    }
}

/// Parses and validates one Token from JSON bytes.
pub(crate) fn parse_token(bytes: &[u8]) -> Result<TokenRecord<'_>, CoreError> {
    let record: TokenRecord<'_> = serde_json::from_slice(bytes).map_err(|e| json_error("token", &e))?;
    record.validate()?;
    Ok(record)
}

/// Parses and validates one Token PATCH from JSON bytes.
pub(crate) fn parse_patch(bytes: &[u8]) -> Result<TokenPatch<'_>, CoreError> {
    let patch: TokenPatch<'_> = serde_json::from_slice(bytes).map_err(|e| json_error("token PATCH", &e))?;
    patch.validate()?;
    Ok(patch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"country_code":"DE","party_id":"TNM","uid":"12345678905880","type":"RFID",
        "contract_id":"DE8ACC12E46L89","visual_number":"DF000-2001-8999-1","issuer":"TheNewMotion",
        "group_id":"DF000-2001-8999","valid":true,"whitelist":"ALLOWED","language":"it",
        "default_profile_type":"GREEN","energy_contract":{"supplier_name":"Greenpeace Energy eG",
        "contract_id":"0123456789"},"last_updated":"2018-12-10T17:25:10Z","extra":[1,2]}"#;

    #[test]
    fn full_token_parses_and_ignores_unknown_fields() {
        let token = parse_token(FULL.as_bytes()).unwrap();
        assert_eq!(token.uid, "12345678905880");
        assert_eq!(token.kind, TokenType::Rfid);
        assert_eq!(token.default_profile_type, Some(ProfileType::Green));
        assert_eq!(token.energy_contract.unwrap().contract_id.unwrap(), "0123456789");
        assert!(matches!(token.issuer.0, Cow::Borrowed(_)));
        assert!(matches!(token.visual_number.unwrap().0, Cow::Borrowed(_)));
    }

    #[test]
    fn bad_tokens_are_refused_with_the_field_named() {
        let cases = [
            (
                FULL.replace("\"DE\"", "\"DEU\""),
                "Field `country_code` is longer than 2 characters",
            ),
            (FULL.replace("\"12345678905880\"", "\"\""), "Field `uid` is empty"),
            (
                FULL.replace("\"12345678905880\"", "\"12é\""),
                "Field `uid` must be printable ASCII (CiString)",
            ),
            (
                FULL.replace("\"it\"", "\"ita\""),
                "Field `language` is longer than 2 characters",
            ),
            (FULL.replace("\"RFID\"", "\"CARD\""), "unknown variant `CARD`"),
            (FULL.replace("true", "null"), "invalid type: null"),
            (
                FULL.replace("17:25:10Z", "17:25:10+01:00"),
                "Field `last_updated` is not an OCPI DateTime",
            ),
            (
                FULL.replace(r#""issuer":"TheNewMotion","#, ""),
                "missing field `issuer`",
            ),
            ("[]".to_owned(), "Invalid token JSON"),
        ];
        for (json, expected) in cases {
            let message = parse_token(json.as_bytes()).unwrap_err().to_string();
            assert!(message.contains(expected), "{message} does not contain {expected}");
        }
    }

    #[test]
    fn patch_requires_last_updated_and_refuses_null_required_fields() {
        let patch = parse_patch(br#"{"valid":false,"last_updated":"2019-06-19T02:11:11Z"}"#).unwrap();
        assert_eq!(patch.valid, Some(false));
        assert_eq!(patch.visual_number, None);
        assert!(parse_patch(br#"{"valid":false}"#)
            .unwrap_err()
            .to_string()
            .contains("missing field `last_updated`"));
        assert!(parse_patch(br#"{"valid":null,"last_updated":"2019-06-19T02:11:11Z"}"#).is_err());
        let cleared = parse_patch(br#"{"group_id":null,"last_updated":"2019-06-19T02:11:11Z"}"#).unwrap();
        assert_eq!(cleared.group_id, None);
    }
}
