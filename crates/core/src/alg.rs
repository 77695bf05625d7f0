//! JWS signature algorithms (RFC 7518 §3, RFC 8037) and the key family each belongs to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JWS signature algorithm that JWTShield can verify.
///
/// `none` is deliberately not a variant: an unsecured JWS can never be represented,
/// configured or accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt length 32.
    PS256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, salt length 48.
    PS384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, salt length 64.
    PS512,
    /// ECDSA on P-256 with SHA-256, raw `r||s` signature.
    ES256,
    /// ECDSA on P-384 with SHA-384, raw `r||s` signature.
    ES384,
    /// ECDSA on P-521 with SHA-512, raw `r||s` signature.
    ES512,
    /// EdDSA with Ed25519 (the only curve supported).
    EdDSA,
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
}

/// The kind of key an algorithm needs. A key is only ever used for its own family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `kty: RSA`, for RS* and PS*.
    Rsa,
    /// `kty: EC` on the named curve.
    Ec(Curve),
    /// `kty: OKP`, `crv: Ed25519`.
    Ed25519,
    /// `kty: oct`, a shared secret for HS*.
    Hmac,
}

/// NIST curves for ECDSA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Curve {
    /// P-256 (secp256r1).
    P256,
    /// P-384 (secp384r1).
    P384,
    /// P-521 (secp521r1).
    P521,
}

impl Curve {
    /// The JWK `crv` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Parses a JWK `crv` name.
    pub fn from_jwk(crv: &str) -> Option<Curve> {
        match crv {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            _ => None,
        }
    }

    /// Length in bytes of one coordinate (and of `r` or `s`).
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

impl Family {
    /// The JWK `kty` this family uses.
    pub fn kty(self) -> &'static str {
        match self {
            Family::Rsa => "RSA",
            Family::Ec(_) => "EC",
            Family::Ed25519 => "OKP",
            Family::Hmac => "oct",
        }
    }

    /// A short human description, e.g. `EC P-256`.
    pub fn describe(self) -> String {
        match self {
            Family::Rsa => "RSA".to_owned(),
            Family::Ec(c) => format!("EC {}", c.as_str()),
            Family::Ed25519 => "OKP Ed25519".to_owned(),
            Family::Hmac => "oct (HMAC secret)".to_owned(),
        }
    }
}

impl Alg {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Alg; 13] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
    ];

    /// The registered JWA name (case-sensitive).
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
        }
    }

    /// Exact, case-sensitive lookup of a JWA name (RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The key family this algorithm needs.
    pub fn family(self) -> Family {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                Family::Rsa
            }
            Alg::ES256 => Family::Ec(Curve::P256),
            Alg::ES384 => Family::Ec(Curve::P384),
            Alg::ES512 => Family::Ec(Curve::P521),
            Alg::EdDSA => Family::Ed25519,
            Alg::HS256 | Alg::HS384 | Alg::HS512 => Family::Hmac,
        }
    }

    /// True for the symmetric HS* algorithms.
    pub fn is_hmac(self) -> bool {
        self.family() == Family::Hmac
    }

    /// For HMAC: the minimum key length and exact tag length in bytes (RFC 7518 §3.2).
    pub fn hmac_len(self) -> Option<usize> {
        match self {
            Alg::HS256 => Some(32),
            Alg::HS384 => Some(48),
            Alg::HS512 => Some(64),
            _ => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an algorithm name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgError {
    /// `none` in any letter case.
    None,
    /// Not a supported JWA signature algorithm.
    Unknown(String),
}

impl fmt::Display for AlgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlgError::None => f.write_str(
                "`none` (an unsigned token) is never accepted; list signature algorithms such as RS256",
            ),
            AlgError::Unknown(name) => {
                let hint = Alg::ALL
                    .iter()
                    .find(|a| a.as_str().eq_ignore_ascii_case(name))
                    .map(|a| format!(" (algorithm names are case-sensitive: did you mean {a}?)"))
                    .unwrap_or_default();
                write!(
                    f,
                    "unsupported algorithm `{name}`{hint}; supported: {}",
                    Alg::ALL.map(Alg::as_str).join(", ")
                )
            }
        }
    }
}

impl std::error::Error for AlgError {}

impl FromStr for Alg {
    type Err = AlgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("none") {
            return Err(AlgError::None);
        }
        Alg::from_name(s).ok_or_else(|| AlgError::Unknown(s.to_owned()))
    }
}

impl Serialize for Alg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Alg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().parse::<Alg>(), Ok(alg));
        }
        assert_eq!(
            "rs256".parse::<Alg>(),
            Err(AlgError::Unknown("rs256".into()))
        );
        assert!(
            AlgError::Unknown("rs256".into())
                .to_string()
                .contains("did you mean RS256")
        );
    }

    #[test]
    fn none_in_every_case_is_refused() {
        for n in ["none", "None", "NONE", "nOnE", "noNE"] {
            assert_eq!(n.parse::<Alg>(), Err(AlgError::None), "{n}");
        }
    }

    #[test]
    fn families() {
        assert_eq!(Alg::PS384.family(), Family::Rsa);
        assert_eq!(Alg::ES512.family(), Family::Ec(Curve::P521));
        assert_eq!(Alg::EdDSA.family().kty(), "OKP");
        assert_eq!(Alg::HS384.hmac_len(), Some(48));
        assert!(Alg::HS512.is_hmac() && !Alg::RS256.is_hmac());
    }
}
