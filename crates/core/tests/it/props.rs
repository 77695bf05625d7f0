//! Property tests: no input makes the core panic, and the verdict is consistent.

use proptest::prelude::*;
use serde_json::json;

use crate::support::*;

fn assert_consistent(token: &str) {
    let p = policy(json!({}));
    let r = check(token, &p);
    assert_eq!(r.valid(), r.errors().next().is_none());
    for c in jwtshield_core::Check::EIGHT {
        assert!(r.checks().get(c).is_some());
    }
    let mut fast = Vec::new();
    r.write_json(&mut fast).unwrap();
    assert_eq!(fast, serde_json::to_vec(&r).unwrap());
    let _ = jwtshield_core::inspect(&parse(token), NOW);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,300}") {
        assert_consistent(&s);
    }

    #[test]
    fn base64url_soup_never_panics(s in "[A-Za-z0-9_=.+/ -]{0,400}") {
        assert_consistent(&s);
    }

    #[test]
    fn mutated_good_tokens_are_never_valid(pos in 0usize..2000, byte in 0u8..128) {
        let good = rsa().good(json!({}));
        let mut bytes = good.clone().into_bytes();
        let i = pos % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        if let Ok(t) = String::from_utf8(bytes) {
            let r = check(&t, &policy(json!({})));
            // A change that keeps the same decoded bytes is impossible with a strict
            // decoder, so any mutation must be refused.
            prop_assert!(!r.valid(), "mutation at {} to {:?} accepted", i, byte as char);
        }
    }

    #[test]
    fn arbitrary_json_claims_never_panic(v in arb_json()) {
        let t = rsa().token(json!({}), v);
        assert_consistent(&t);
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("iss".to_owned()),
                    Just("aud".to_owned()),
                    Just("exp".to_owned()),
                    Just("nbf".to_owned()),
                    Just("iat".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..8
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
