//! End-to-end checks of the engine on the spec's worked examples (tariffs.md §8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use super::{price, Tariff, Usage};

fn priced(tariff: &str, cdr: &str, tz: Option<&str>) -> Value {
    let tariff = Tariff::from_json(tariff.as_bytes()).unwrap();
    serde_json::from_slice(&price(Some(&tariff), Usage::Cdr, cdr.as_bytes(), tz).unwrap()).unwrap()
}

fn total(v: &Value, field: &str) -> (String, String) {
    let p = &v[field];
    (
        p["excl_vat"].as_str().unwrap().to_owned(),
        p["incl_vat"].as_str().unwrap().to_owned(),
    )
}

fn cdr(start: &str, end: &str, periods: &[(&str, &str)]) -> String {
    let periods: Vec<String> = periods
        .iter()
        .map(|(s, dims)| format!(r#"{{"start_date_time": "{s}", "dimensions": [{dims}]}}"#))
        .collect();
    format!(
        r#"{{"start_date_time": "{start}", "end_date_time": "{end}", "currency": "EUR", "charging_periods": [{}]}}"#,
        periods.join(",")
    )
}

const START_AND_ENERGY: &str = r#"{"currency": "EUR", "elements": [{"price_components": [
    {"type": "FLAT", "price": 0.50, "vat": 20.0, "step_size": 1},
    {"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}]}"#;

#[test]
fn start_fee_and_energy() {
    let v = priced(
        START_AND_ENERGY,
        &cdr(
            "2024-01-15T10:00:00Z",
            "2024-01-15T11:00:00Z",
            &[("2024-01-15T10:00:00Z", r#"{"type": "ENERGY", "volume": 20}"#)],
        ),
        None,
    );
    assert_eq!(total(&v, "total_cost"), ("5.5000".into(), "6.1000".into()));
    assert_eq!(total(&v, "total_fixed_cost"), ("0.5000".into(), "0.6000".into()));
    assert_eq!(v["time_zone_source"], "default");
    assert_eq!(v["periods"][0]["lines"][0]["element"], 0);
}

#[test]
fn reservation_used_then_session() {
    let tariff = r#"{"currency": "EUR", "elements": [
        {"price_components": [{"type": "FLAT", "price": 2.00, "vat": 20.0, "step_size": 1}, {"type": "TIME", "price": 5.00, "vat": 20.0, "step_size": 300}],
         "restrictions": {"reservation": "RESERVATION"}},
        {"price_components": [{"type": "FLAT", "price": 0.50, "vat": 20.0, "step_size": 1}, {"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}]}"#;
    let c = cdr(
        "2024-01-15T10:00:00Z",
        "2024-01-15T11:13:00Z",
        &[
            (
                "2024-01-15T10:00:00Z",
                r#"{"type": "RESERVATION_TIME", "volume": 0.2167}"#,
            ),
            (
                "2024-01-15T10:13:00Z",
                r#"{"type": "ENERGY", "volume": 20}, {"type": "TIME", "volume": 1}"#,
            ),
        ],
    );
    let v = priced(tariff, &c, None);
    assert_eq!(total(&v, "total_cost"), ("8.7500".into(), "10.0000".into()));
    assert_eq!(total(&v, "total_reservation_cost"), ("3.2500".into(), "3.9000".into()));
    assert_eq!(v["billed_reservation_time"], "0.2500");
}

#[test]
fn reservation_expired_uses_expiry_elements_first() {
    let tariff = r#"{"currency": "EUR", "elements": [
        {"price_components": [{"type": "FLAT", "price": 4.00, "vat": 20.0, "step_size": 1}], "restrictions": {"reservation": "RESERVATION_EXPIRES"}},
        {"price_components": [{"type": "TIME", "price": 2.00, "vat": 20.0, "step_size": 600}], "restrictions": {"reservation": "RESERVATION"}},
        {"price_components": [{"type": "FLAT", "price": 0.50, "vat": 20.0, "step_size": 1}, {"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}]}"#;
    let c = cdr(
        "2024-01-15T10:00:00Z",
        "2024-01-15T11:00:00Z",
        &[("2024-01-15T10:00:00Z", r#"{"type": "RESERVATION_TIME", "volume": 1}"#)],
    );
    let v = priced(tariff, &c, None);
    assert_eq!(total(&v, "total_cost"), ("6.0000".into(), "7.2000".into()));
    assert_eq!(total(&v, "total_fixed_cost"), ("0.0000".into(), "0.0000".into()));
}

#[test]
fn local_time_window_in_the_location_zone() {
    let tariff = r#"{"currency": "EUR", "elements": [
        {"price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}], "restrictions": {"start_time": "18:00", "end_time": "22:00"}},
        {"price_components": [{"type": "ENERGY", "price": 0.5, "step_size": 1}]}]}"#;
    // 17:30 UTC is 18:30 in Amsterdam in winter.
    let c = cdr(
        "2024-01-15T17:30:00Z",
        "2024-01-15T18:00:00Z",
        &[("2024-01-15T17:30:00Z", r#"{"type": "ENERGY", "volume": 10}"#)],
    );
    assert_eq!(
        total(&priced(tariff, &c, Some("Europe/Amsterdam")), "total_cost").0,
        "10.0000"
    );
    assert_eq!(total(&priced(tariff, &c, Some("UTC")), "total_cost").0, "5.0000");
    let t = Tariff::from_json(tariff.as_bytes()).unwrap();
    let err = price(Some(&t), Usage::Cdr, c.as_bytes(), None).unwrap_err().to_string();
    assert!(err.contains("time zone is required"), "{err}");
    let err = price(Some(&t), Usage::Cdr, c.as_bytes(), Some("Mars/Olympus"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`tz`"), "{err}");
}

#[test]
fn embedded_tariff_and_missing_tariff() {
    let c = r#"{"start_date_time": "2015-06-29T21:39:09Z", "end_date_time": "2015-06-29T23:37:32Z", "currency": "EUR",
        "tariffs": [{"id": "12", "currency": "EUR", "elements": [{"price_components": [{"type": "TIME", "price": 2.00, "vat": 10.0, "step_size": 300}]}]}],
        "charging_periods": [{"start_date_time": "2015-06-29T21:39:09Z", "dimensions": [{"type": "TIME", "volume": 1.973}], "tariff_id": "12"}]}"#;
    let v: Value = serde_json::from_slice(&price(None, Usage::Cdr, c.as_bytes(), None).unwrap()).unwrap();
    assert_eq!(total(&v, "total_cost"), ("4.0000".into(), "4.4000".into()));
    assert_eq!(v["periods"][0]["tariff_id"], "12");
    let none = c.replace(r#""tariff_id": "12""#, r#""tariff_id": "13""#);
    assert!(price(None, Usage::Cdr, none.as_bytes(), None)
        .unwrap_err()
        .to_string()
        .contains("tariff_id"));
    let empty = r#"{"start_date_time": "2015-06-29T21:39:09Z", "end_date_time": "2015-06-29T23:37:32Z", "tariffs": [],
        "charging_periods": [{"start_date_time": "2015-06-29T21:39:09Z", "dimensions": [{"type": "TIME", "volume": 1}]}]}"#;
    assert!(price(None, Usage::Cdr, empty.as_bytes(), None)
        .unwrap_err()
        .to_string()
        .contains("No tariff"));
}

#[test]
fn session_so_far_needs_no_end_or_periods() {
    let s = r#"{"start_date_time": "2024-01-15T10:00:00Z", "last_updated": "2024-01-15T10:30:00Z", "currency": "EUR",
        "charging_periods": []}"#;
    let t = Tariff::from_json(START_AND_ENERGY.as_bytes()).unwrap();
    let v: Value = serde_json::from_slice(&price(Some(&t), Usage::Session, s.as_bytes(), None).unwrap()).unwrap();
    assert_eq!(total(&v, "total_cost"), ("0.0000".into(), "0.0000".into()));
    assert_eq!(v["total_time"], "0.5000");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let t = Tariff::from_json(START_AND_ENERGY.as_bytes()).unwrap();
    for bytes in [&b""[..], b"{", b"[]", b"null", b"{\"start_date_time\": 5}", b"\xff\xfe"] {
        assert!(price(Some(&t), Usage::Cdr, bytes, None).is_err());
        assert!(Tariff::from_json(bytes).is_err());
    }
}

#[test]
fn malformed_embedded_tariffs_are_refused_even_with_an_explicit_tariff() {
    let tariff = Tariff::from_json(START_AND_ENERGY.as_bytes()).unwrap();
    let good = cdr(
        "2024-01-15T10:00:00Z",
        "2024-01-15T11:00:00Z",
        &[("2024-01-15T10:00:00Z", r#"{"type": "ENERGY", "volume": 20}"#)],
    );
    let bad = good.replacen('{', r#"{"tariffs": [{"currency": 5}], "#, 1);
    let err = price(Some(&tariff), Usage::Cdr, bad.as_bytes(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tariffs[0].currency"), "{err}");
    let err = price(None, Usage::Cdr, bad.as_bytes(), None).unwrap_err().to_string();
    assert!(err.contains("tariffs[0].currency"), "{err}");
    let mut cache = super::BatchCache::default();
    let embedded = good.replacen('{', &format!(r#"{{"tariffs": [{START_AND_ENERGY}], "#), 1);
    for _ in 0..2 {
        let mut out = Vec::new();
        super::price_into(
            &mut out,
            None,
            Usage::Cdr,
            embedded.as_bytes(),
            None,
            true,
            Some(&mut cache),
        )
        .unwrap();
        assert_eq!(out, price(None, Usage::Cdr, embedded.as_bytes(), None).unwrap());
    }
    assert_eq!(cache.compiled.len(), 1);
}
