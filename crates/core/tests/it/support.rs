//! Test keys and token minting with aws-lc-rs (the same crate the core verifies with,
//! but its signing half, which the core never uses).

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use aws_lc_rs::{hmac, rsa};
use jwtshield_core::b64;
use jwtshield_core::{CompiledPolicy, KeySet, Policy, Report};
use pkcs1::der::Decode;
use serde_json::{Map, Value, json};

/// The fixed clock every test uses: 2023-11-14T22:13:20Z.
pub const NOW: i64 = 1_700_000_000;
pub const ISS: &str = "https://acme.auth0.com/";
pub const AUD: &str = "https://api.acme.com/";
pub const SECRET: &str = "an-hmac-secret-that-is-long-enough-for-hs512-0123456789abcdefghij";

pub enum Material {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair, &'static str),
    Ed(Ed25519KeyPair),
    Hmac(Vec<u8>),
}

pub struct Signer {
    pub kid: &'static str,
    pub material: Material,
}

fn rsa_pair() -> rsa::KeyPair {
    rsa::KeyPair::generate(rsa::KeySize::Rsa2048).unwrap()
}

pub fn rsa() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer {
        kid: "rsa-1",
        material: Material::Rsa(rsa_pair()),
    })
}

pub fn rsa2() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer {
        kid: "rsa-2",
        material: Material::Rsa(rsa_pair()),
    })
}

pub fn attacker_rsa() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer {
        kid: "rsa-1",
        material: Material::Rsa(rsa_pair()),
    })
}

pub fn ec(curve: &str) -> &'static Signer {
    static P256: OnceLock<Signer> = OnceLock::new();
    static P384: OnceLock<Signer> = OnceLock::new();
    static P521: OnceLock<Signer> = OnceLock::new();
    let (cell, alg, kid) = match curve {
        "P-256" => (&P256, &signature::ECDSA_P256_SHA256_FIXED_SIGNING, "ec-256"),
        "P-384" => (&P384, &signature::ECDSA_P384_SHA384_FIXED_SIGNING, "ec-384"),
        _ => (&P521, &signature::ECDSA_P521_SHA512_FIXED_SIGNING, "ec-521"),
    };
    cell.get_or_init(|| {
        let crv = match curve {
            "P-256" => "P-256",
            "P-384" => "P-384",
            _ => "P-521",
        };
        Signer {
            kid,
            material: Material::Ec(EcdsaKeyPair::generate(alg).unwrap(), crv),
        }
    })
}

pub fn ed() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer {
        kid: "ed-1",
        material: Material::Ed(Ed25519KeyPair::generate().unwrap()),
    })
}

pub fn hmac_key() -> &'static Signer {
    static K: OnceLock<Signer> = OnceLock::new();
    K.get_or_init(|| Signer {
        kid: "hs-1",
        material: Material::Hmac(SECRET.as_bytes().to_vec()),
    })
}

impl Signer {
    /// The public JWK (or the oct JWK for HMAC), with `kid` and no `alg`.
    pub fn jwk(&self) -> Value {
        match &self.material {
            Material::Rsa(kp) => {
                let der = kp.public_key().as_ref();
                let pk = pkcs1::RsaPublicKeyRef::from_der(der).unwrap();
                json!({"kty":"RSA","kid":self.kid,"use":"sig",
                       "n": b64::encode(pk.modulus.as_bytes()),
                       "e": b64::encode(pk.public_exponent.as_bytes())})
            }
            Material::Ec(kp, crv) => {
                let point = kp.public_key().as_ref();
                let n = (point.len() - 1) / 2;
                json!({"kty":"EC","kid":self.kid,"crv":crv,
                       "x": b64::encode(&point[1..1 + n]), "y": b64::encode(&point[1 + n..])})
            }
            Material::Ed(kp) => {
                json!({"kty":"OKP","kid":self.kid,"crv":"Ed25519","x": b64::encode(kp.public_key().as_ref())})
            }
            Material::Hmac(k) => json!({"kty":"oct","kid":self.kid,"k": b64::encode(k)}),
        }
    }

    /// The SPKI PEM of the public key.
    pub fn pem(&self) -> String {
        use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
        let der: Vec<u8> = match &self.material {
            Material::Rsa(kp) => {
                let d: PublicKeyX509Der = kp.public_key().as_der().unwrap();
                d.as_ref().to_vec()
            }
            Material::Ec(kp, _) => {
                let d: PublicKeyX509Der = kp.public_key().as_der().unwrap();
                d.as_ref().to_vec()
            }
            Material::Ed(kp) => {
                let d: PublicKeyX509Der = kp.public_key().as_der().unwrap();
                d.as_ref().to_vec()
            }
            Material::Hmac(_) => panic!("no PEM for a secret"),
        };
        spki::der::pem::encode_string("PUBLIC KEY", spki::der::pem::LineEnding::LF, &der).unwrap()
    }

    /// Signs `input` with `alg` (the caller picks a fitting alg).
    pub fn sign(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.material {
            Material::Rsa(kp) => {
                let enc: &'static dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    other => panic!("RSA cannot sign {other}"),
                };
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(enc, &rng, input, &mut sig).unwrap();
                sig
            }
            Material::Ec(kp, _) => kp.sign(&rng, input).unwrap().as_ref().to_vec(),
            Material::Ed(kp) => kp.sign(input).as_ref().to_vec(),
            Material::Hmac(k) => {
                let a = match alg {
                    "HS384" => hmac::HMAC_SHA384,
                    "HS512" => hmac::HMAC_SHA512,
                    _ => hmac::HMAC_SHA256,
                };
                hmac::sign(&hmac::Key::new(a, k), input).as_ref().to_vec()
            }
        }
    }

    /// The natural algorithm of this key.
    pub fn alg(&self) -> &'static str {
        match &self.material {
            Material::Rsa(_) => "RS256",
            Material::Ec(_, "P-256") => "ES256",
            Material::Ec(_, "P-384") => "ES384",
            Material::Ec(..) => "ES512",
            Material::Ed(_) => "EdDSA",
            Material::Hmac(_) => "HS256",
        }
    }

    /// A signed token: `alg` and `kid` are added to the header unless it names them.
    pub fn token(&self, header: Value, claims: Value) -> String {
        let mut h: Map<String, Value> = header.as_object().cloned().unwrap_or_default();
        h.entry("alg").or_insert_with(|| json!(self.alg()));
        h.entry("kid").or_insert_with(|| json!(self.kid));
        if h["kid"].is_null() {
            h.remove("kid"); // {"kid": null} asks for a token without kid
        }
        let alg = h["alg"].as_str().unwrap_or(self.alg()).to_owned();
        let input = format!(
            "{}.{}",
            b64::encode(serde_json::to_vec(&Value::Object(h)).unwrap()),
            b64::encode(serde_json::to_vec(&claims).unwrap())
        );
        let sig = self.sign(&alg, input.as_bytes());
        format!("{input}.{}", b64::encode(sig))
    }

    /// A token with standard good claims merged with `extra` (null removes a claim).
    pub fn good(&self, extra: Value) -> String {
        self.token(json!({}), claims(extra))
    }
}

/// Good claims for the default policy, with `extra` merged in (null values remove).
pub fn claims(extra: Value) -> Value {
    let mut c = json!({
        "iss": ISS, "sub": "auth0|user-1", "aud": [AUD, "https://acme.auth0.com/userinfo"],
        "iat": NOW - 60, "exp": NOW + 3600, "scope": "openid read:messages",
        "azp": "ZmGLeMYsUQpvlpHeSbbv3xqW2lT0dY3K"
    });
    let obj = c.as_object_mut().unwrap();
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            obj.remove(&k);
        } else {
            obj.insert(k, v);
        }
    }
    c
}

/// A JWKS holding these keys.
pub fn jwks(signers: &[&Signer]) -> Value {
    json!({"keys": signers.iter().map(|s| s.jwk()).collect::<Vec<_>>()})
}

/// A compiled policy: the defaults, the keys of all test signers inline, `extra` merged.
pub fn policy(extra: Value) -> CompiledPolicy {
    let mut p = json!({
        "issuer": ISS,
        "audiences": [AUD],
        "allowed_algs": ["RS256"],
        "jwks": jwks(&[rsa(), rsa2(), ec("P-256"), ec("P-384"), ec("P-521"), ed()]),
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            p.as_object_mut().unwrap().remove(&k);
        } else {
            p[k] = v;
        }
    }
    Policy::from_json(&p).unwrap().compile().unwrap()
}

/// Validates with the policy's inline keys at [`NOW`].
pub fn check(token: &str, policy: &CompiledPolicy) -> Report {
    let empty = KeySet::empty();
    let keys = policy.inline_keys().map(|k| k.as_ref()).unwrap_or(&empty);
    jwtshield_core::validate(token, keys, policy, NOW)
}

pub fn codes(r: &Report) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.code.as_str()).collect()
}

pub fn status(r: &Report, check: &str) -> Option<&'static str> {
    r.checks
        .iter()
        .find(|(c, _)| c.as_str() == check)
        .map(|(_, s)| s.as_str())
}

/// Re-encodes a token's part: `part` 0 header, 1 payload, 2 signature.
pub fn replace_part(token: &str, part: usize, raw: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[part] = raw.to_owned();
    parts.join(".")
}
