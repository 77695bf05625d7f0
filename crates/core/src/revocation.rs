//! Revocation rules and the index the `revocation` check consults. Pure: the service
//! keeps the rules (embedded store or Redis) and hands the check an immutable
//! [`RevocationSet`]; matching is three hash lookups, no allocation.
//!
//! Rules key on claims, never on the token's bytes: an ECDSA signature has other valid
//! byte forms, so a hash of the token would let a re-encoded copy through.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What a rule refuses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// One token: its `jti`.
    Jti {
        /// The `jti` claim.
        jti: String,
    },
    /// Every token of a subject issued before an instant ("sign out everywhere").
    Subject {
        /// The `sub` claim.
        sub: String,
        /// Tokens whose `iat` is before this (seconds since 1970) are refused; a token
        /// without `iat` is refused too (nothing shows it is newer).
        issued_before: i64,
    },
    /// Every token of a client (`azp`, `client_id` or `cid`) issued before an instant.
    Client {
        /// The client id.
        client_id: String,
        /// As for [`Target::Subject`].
        issued_before: i64,
    },
}

/// A revocation rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Its id (assigned when stored).
    pub id: String,
    /// The issuer whose tokens it applies to (exact `iss`).
    pub issuer: String,
    /// What it refuses.
    #[serde(flatten)]
    pub target: Target,
    /// Why, for people and evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was made (seconds since 1970).
    pub created_at: i64,
    /// When it is dropped (seconds since 1970): no token it refuses lives longer.
    pub expires_at: i64,
}

impl Rule {
    /// Whether it still applies at `now`.
    pub fn live(&self, now: i64) -> bool {
        self.expires_at > now
    }
}

type Index = HashMap<String, HashMap<String, usize>>;

/// An immutable index of live rules by issuer and `jti`, `sub` or client id.
#[derive(Debug, Default)]
pub struct RevocationSet {
    rules: Vec<Rule>,
    by_jti: Index,
    by_sub: Index,
    by_client: Index,
}

/// The claims a rule can match, read from a verified token.
#[derive(Clone, Copy, Debug, Default)]
pub struct Subject<'a> {
    /// `iss`.
    pub iss: &'a str,
    /// `jti`.
    pub jti: Option<&'a str>,
    /// `sub`.
    pub sub: Option<&'a str>,
    /// `azp`, `client_id` and `cid`, when present.
    pub clients: [Option<&'a str>; 3],
    /// `iat`, when it is a number.
    pub iat: Option<f64>,
}

impl RevocationSet {
    /// Indexes the rules live at `now`. For two rules on the same subject or client the
    /// later `issued_before` wins (it refuses more).
    pub fn new(rules: impl IntoIterator<Item = Rule>, now: i64) -> RevocationSet {
        let mut set = RevocationSet::default();
        for rule in rules.into_iter().filter(|r| r.live(now)) {
            let i = set.rules.len();
            let (index, key, instant) = match &rule.target {
                Target::Jti { jti } => (&mut set.by_jti, jti.clone(), None),
                Target::Subject { sub, issued_before } => {
                    (&mut set.by_sub, sub.clone(), Some(*issued_before))
                }
                Target::Client {
                    client_id,
                    issued_before,
                } => (&mut set.by_client, client_id.clone(), Some(*issued_before)),
            };
            let slot = index.entry(rule.issuer.clone()).or_default();
            let keep_old = match (slot.get(&key), instant) {
                (Some(&old), Some(new)) => before(&set.rules[old]) >= new,
                _ => false,
            };
            if !keep_old {
                slot.insert(key, i);
            }
            set.rules.push(rule);
        }
        set
    }

    /// Live rules indexed.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule that refuses a token with these claims at `now`.
    pub fn matching(&self, s: &Subject<'_>, now: i64) -> Option<&Rule> {
        if self.rules.is_empty() {
            return None;
        }
        let find = |index: &Index, key: Option<&str>| -> Option<&Rule> {
            let i = *index.get(s.iss)?.get(key?)?;
            Some(&self.rules[i]).filter(|r| r.live(now))
        };
        if let Some(r) = find(&self.by_jti, s.jti) {
            return Some(r);
        }
        let older = |r: &&Rule| s.iat.is_none_or(|iat| iat < before(r) as f64);
        if let Some(r) = find(&self.by_sub, s.sub).filter(older) {
            return Some(r);
        }
        s.clients
            .iter()
            .find_map(|c| find(&self.by_client, *c).filter(older))
    }
}

fn before(r: &Rule) -> i64 {
    match r.target {
        Target::Subject { issued_before, .. } | Target::Client { issued_before, .. } => {
            issued_before
        }
        Target::Jti { .. } => i64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, target: Target) -> Rule {
        Rule {
            id: id.into(),
            issuer: "https://i/".into(),
            target,
            reason: None,
            created_at: 100,
            expires_at: 10_000,
        }
    }

    fn subject<'a>(jti: &'a str, sub: &'a str, azp: &'a str, iat: Option<f64>) -> Subject<'a> {
        Subject {
            iss: "https://i/",
            jti: Some(jti),
            sub: Some(sub),
            clients: [Some(azp), None, None],
            iat,
        }
    }

    #[test]
    fn each_kind_of_rule_refuses_what_it_names_and_nothing_else() {
        let set = RevocationSet::new(
            [
                rule("1", Target::Jti { jti: "j1".into() }),
                rule(
                    "2",
                    Target::Subject {
                        sub: "alice".into(),
                        issued_before: 500,
                    },
                ),
                rule(
                    "3",
                    Target::Client {
                        client_id: "leaky".into(),
                        issued_before: 700,
                    },
                ),
            ],
            200,
        );
        let hit = |s: Subject<'_>| set.matching(&s, 200).map(|r| r.id.clone());
        assert_eq!(
            hit(subject("j1", "bob", "app", Some(900.0))),
            Some("1".into())
        );
        assert_eq!(
            hit(subject("j2", "alice", "app", Some(499.0))),
            Some("2".into())
        );
        assert_eq!(
            hit(subject("j2", "alice", "app", Some(500.0))),
            None,
            "newer"
        );
        assert_eq!(
            hit(subject("j2", "alice", "app", None)),
            Some("2".into()),
            "no iat"
        );
        assert_eq!(
            hit(subject("j2", "bob", "leaky", Some(600.0))),
            Some("3".into())
        );
        assert_eq!(hit(subject("j2", "bob", "leaky", Some(800.0))), None);
        // another issuer's token with the same values is not refused
        let mut other = subject("j1", "alice", "leaky", Some(1.0));
        other.iss = "https://other/";
        assert_eq!(set.matching(&other, 200), None);
        // expired rules are dropped
        assert_eq!(set.matching(&subject("j1", "x", "y", None), 10_000), None);
        assert!(
            RevocationSet::new([rule("1", Target::Jti { jti: "j".into() })], 10_000).is_empty()
        );
    }

    #[test]
    fn the_later_sign_out_wins() {
        let set = RevocationSet::new(
            [
                rule(
                    "late",
                    Target::Subject {
                        sub: "a".into(),
                        issued_before: 900,
                    },
                ),
                rule(
                    "early",
                    Target::Subject {
                        sub: "a".into(),
                        issued_before: 300,
                    },
                ),
            ],
            0,
        );
        let s = subject("j", "a", "c", Some(500.0));
        assert_eq!(set.matching(&s, 0).map(|r| r.id.as_str()), Some("late"));
    }
}
