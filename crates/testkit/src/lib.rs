//! Test-only key material and token minting, shared by every crate's tests, the core
//! benchmark and the service's bench fixture. It signs with aws-lc-rs (the signing half
//! the verifier never uses) and writes JWKs and compact JWS by hand, so a test controls
//! every header member. Panics on misuse: it is for tests only and never published.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use aws_lc_rs::{hmac, rsa};
use pkcs1::der::Decode;
use serde_json::{Map, Value, json};

/// Base64url without padding, as JOSE writes it.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

enum Material {
    Rsa(rsa::KeyPair),
    Ec(EcdsaKeyPair, &'static str),
    Ed(Ed25519KeyPair),
    Hmac(Vec<u8>),
}

/// A signing key with its `kid`.
pub struct Signer {
    pub kid: String,
    material: Material,
}

impl Signer {
    /// A fresh RSA 2048 key (slow to generate: keep one per test binary).
    pub fn rsa(kid: &str) -> Signer {
        Signer::with(
            kid,
            Material::Rsa(rsa::KeyPair::generate(rsa::KeySize::Rsa2048).unwrap()),
        )
    }

    /// A fresh EC key on `curve`: "P-256", "P-384" or "P-521".
    pub fn ec(curve: &str, kid: &str) -> Signer {
        let (alg, crv) = match curve {
            "P-256" => (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, "P-256"),
            "P-384" => (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, "P-384"),
            "P-521" => (&signature::ECDSA_P521_SHA512_FIXED_SIGNING, "P-521"),
            other => panic!("no curve {other}"),
        };
        Signer::with(kid, Material::Ec(EcdsaKeyPair::generate(alg).unwrap(), crv))
    }

    /// A fresh Ed25519 key.
    pub fn ed(kid: &str) -> Signer {
        Signer::with(kid, Material::Ed(Ed25519KeyPair::generate().unwrap()))
    }

    /// An HMAC secret.
    pub fn hmac(kid: &str, secret: &[u8]) -> Signer {
        Signer::with(kid, Material::Hmac(secret.to_vec()))
    }

    fn with(kid: &str, material: Material) -> Signer {
        Signer {
            kid: kid.to_owned(),
            material,
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

    /// The public key as aws-lc-rs verifies it: PKCS#1 DER for RSA, the uncompressed
    /// point for EC, the 32 raw bytes for Ed25519.
    pub fn public_key(&self) -> Vec<u8> {
        match &self.material {
            Material::Rsa(kp) => kp.public_key().as_ref().to_vec(),
            Material::Ec(kp, _) => kp.public_key().as_ref().to_vec(),
            Material::Ed(kp) => kp.public_key().as_ref().to_vec(),
            Material::Hmac(_) => panic!("a secret has no public key"),
        }
    }

    /// The public JWK (the oct JWK for HMAC) with `kid`, `use: sig` on public keys,
    /// and no `alg`.
    pub fn jwk(&self) -> Value {
        match &self.material {
            Material::Rsa(kp) => {
                let pk = pkcs1::RsaPublicKeyRef::from_der(kp.public_key().as_ref()).unwrap();
                json!({"kty":"RSA","kid":self.kid,"use":"sig",
                       "n": b64(pk.modulus.as_bytes()), "e": b64(pk.public_exponent.as_bytes())})
            }
            Material::Ec(kp, crv) => {
                let point = kp.public_key().as_ref();
                let n = (point.len() - 1) / 2;
                json!({"kty":"EC","kid":self.kid,"use":"sig","crv":crv,
                       "x": b64(&point[1..1 + n]), "y": b64(&point[1 + n..])})
            }
            Material::Ed(kp) => {
                json!({"kty":"OKP","kid":self.kid,"use":"sig","crv":"Ed25519",
                       "x": b64(kp.public_key().as_ref())})
            }
            Material::Hmac(k) => json!({"kty":"oct","kid":self.kid,"k": b64(k)}),
        }
    }

    /// [`Signer::jwk`] with `alg` pinned to [`Signer::alg`], as Auth0 and most providers
    /// publish their keys.
    pub fn jwk_pinned(&self) -> Value {
        let mut jwk = self.jwk();
        jwk["alg"] = json!(self.alg());
        jwk
    }

    /// The SPKI PEM of the public key.
    pub fn pem(&self) -> String {
        let der: PublicKeyX509Der = match &self.material {
            Material::Rsa(kp) => kp.public_key().as_der().unwrap(),
            Material::Ec(kp, _) => kp.public_key().as_der().unwrap(),
            Material::Ed(kp) => kp.public_key().as_der().unwrap(),
            Material::Hmac(_) => panic!("no PEM for a secret"),
        };
        spki::der::pem::encode_string("PUBLIC KEY", spki::der::pem::LineEnding::LF, der.as_ref())
            .unwrap()
    }

    /// Signs `input` with `alg` (the caller picks one that fits the key).
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

    /// A signed compact JWS. `alg` and `kid` are added to `header` unless it names
    /// them; `"kid": null` asks for a token without `kid`.
    pub fn token(&self, header: Value, claims: Value) -> String {
        let mut h: Map<String, Value> = header.as_object().cloned().unwrap_or_default();
        h.entry("alg").or_insert_with(|| json!(self.alg()));
        h.entry("kid").or_insert_with(|| json!(self.kid));
        if h["kid"].is_null() {
            h.remove("kid");
        }
        let alg = h["alg"].as_str().unwrap_or(self.alg()).to_owned();
        let input = format!(
            "{}.{}",
            b64(serde_json::to_vec(&Value::Object(h)).unwrap()),
            b64(serde_json::to_vec(&claims).unwrap())
        );
        let sig = self.sign(&alg, input.as_bytes());
        format!("{input}.{}", b64(sig))
    }
}

/// A JWKS holding these keys.
pub fn jwks(signers: &[&Signer]) -> Value {
    json!({"keys": signers.iter().map(|s| s.jwk()).collect::<Vec<_>>()})
}

/// `token` re-headed as `{"alg":"none"}` with an empty signature: the classic forgery.
pub fn alg_none(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    format!("{}.{payload}.", b64(r#"{"alg":"none"}"#))
}

/// `token` with its payload swapped for `claims`, header and signature kept: a tampered token.
pub fn tampered(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let (header, _, sig) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
    format!("{header}.{}.{sig}", b64(claims.to_string()))
}

/// A DPoP client (RFC 9449): a key pair whose public JWK goes into each proof's header.
impl Signer {
    /// The RFC 7638 thumbprint of the public key, written out here member by member (not
    /// with the verifier's code): what an authorization server puts in `cnf.jkt`.
    pub fn jkt(&self) -> String {
        let jwk = self.jwk();
        let s = |m: &str| jwk[m].as_str().unwrap().to_owned();
        let canonical = match jwk["kty"].as_str().unwrap() {
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                s("crv"),
                s("x"),
                s("y")
            ),
            "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
            "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x")),
            other => panic!("no thumbprint for {other}"),
        };
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// A DPoP proof for `method` and `uri`, made at `iat`, with `jti`, and `ath` for
    /// `access_token` when given. `header` and `claims` are merged over the defaults
    /// (`typ: dpop+jwt`, the public `jwk`, no `kid`); null removes a member.
    #[allow(clippy::too_many_arguments)] // each is a member a test varies
    pub fn dpop_proof(
        &self,
        method: &str,
        uri: &str,
        iat: i64,
        jti: &str,
        access_token: Option<&str>,
        header: Value,
        claims: Value,
    ) -> String {
        let mut h = json!({"typ": "dpop+jwt", "jwk": self.jwk(), "kid": null});
        let mut c = json!({"htm": method, "htu": uri, "iat": iat, "jti": jti});
        if let Some(t) = access_token {
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, t.as_bytes());
            c["ath"] = json!(b64(d.as_ref()));
        }
        for (target, extra) in [(&mut h, header), (&mut c, claims)] {
            for (k, v) in extra.as_object().cloned().unwrap_or_default() {
                if v.is_null() && k != "kid" {
                    target.as_object_mut().unwrap().remove(&k);
                } else {
                    target[k.as_str()] = v;
                }
            }
        }
        self.token(h, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_defaults_and_overrides() {
        let k = Signer::hmac("h", b"0123456789abcdef0123456789abcdef");
        let header = |t: &str| -> Value {
            let seg = t.split('.').next().unwrap();
            serde_json::from_slice(&base64_simd::URL_SAFE_NO_PAD.decode_to_vec(seg).unwrap())
                .unwrap()
        };
        assert_eq!(
            header(&k.token(json!({}), json!({}))),
            json!({"alg": "HS256", "kid": "h"})
        );
        assert_eq!(
            header(&k.token(
                json!({"kid": null, "alg": "HS512", "typ": "JWT"}),
                json!({})
            )),
            json!({"alg": "HS512", "typ": "JWT"})
        );
        let t = k.token(json!({"alg": "HS512"}), json!({"a": 1}));
        let (input, sig) = t.rsplit_once('.').unwrap();
        assert_eq!(sig, b64(k.sign("HS512", input.as_bytes())));

        let [h, p, s]: [&str; 3] = t.split('.').collect::<Vec<_>>().try_into().unwrap();
        assert_eq!(alg_none(&t), format!("eyJhbGciOiJub25lIn0.{p}."));
        assert_eq!(
            tampered(&t, &json!({"a": 2})),
            format!("{h}.{}.{s}", b64(r#"{"a":2}"#))
        );
    }
}
