//! Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` claim holds
//! `x5t#S256` may only be used over a TLS connection authenticated with that client
//! certificate. JWTShield sits behind the gateway that terminates TLS, so the gateway
//! passes the certificate in a header (nginx: `$ssl_client_escaped_cert`, the PEM
//! URL-encoded); the service trusts that header only from configured gateway addresses
//! and compares the SHA-256 thumbprint of the certificate's DER with `x5t#S256`.

use crate::gateway::Decision;
use crate::json::JsonObject;

/// The `x5t#S256` confirmation of a token: base64url SHA-256 of its certificate's DER.
pub fn bound_thumbprint(claims: &JsonObject) -> Option<String> {
    claims
        .get("cnf")?
        .get("x5t#S256")?
        .as_str()
        .map(str::to_owned)
}

/// The base64url SHA-256 thumbprint of the certificate in a gateway's header value: a
/// PEM certificate, URL-encoded (nginx `$ssl_client_escaped_cert`) or not.
pub fn thumbprint_of_header(value: &str) -> Result<String, String> {
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| "the certificate header is not UTF-8 once URL-decoded".to_owned())?;
    let (label, der) = spki::der::pem::decode_vec(decoded.trim().as_bytes())
        .map_err(|e| format!("the certificate header is not a PEM certificate ({e})"))?;
    if label != "CERTIFICATE" {
        return Err(format!(
            "the certificate header holds a PEM {label}, not a CERTIFICATE"
        ));
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
    Ok(crate::b64::encode(digest.as_ref()))
}

/// The RFC 8705 check of a verified token: a token without `cnf.x5t#S256` passes; a bound
/// one needs the client certificate (`thumbprint`, from a trusted gateway) to match.
pub fn check(claims: &JsonObject, thumbprint: Option<&str>) -> Result<(), Decision> {
    let Some(bound) = bound_thumbprint(claims) else {
        return Ok(());
    };
    match thumbprint {
        None => Err(Decision::invalid_token(
            "CERTIFICATE_MISSING: the token is bound to a client certificate (cnf x5t#S256) and none came with the request",
        )),
        Some(t) if t == bound => Ok(()),
        Some(_) => Err(Decision::invalid_token(
            "CERTIFICATE_MISMATCH: the token is bound to another client certificate (cnf x5t#S256)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // a self-signed certificate's PEM (any certificate will do: only its DER is hashed)
    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBLjCB1aADAgECAgEBMAoGCCqGSM49BAMCMA8xDTALBgNVBAMMBHRlc3QwHhcN\nMjQwMTAxMDAwMDAwWhcNMzQwMTAxMDAwMDAwWjAPMQ0wCwYDVQQDDAR0ZXN0MFkw\nEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV76e8T\nus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiCjiZYtraMSMBAwDgYD\nVR0PAQH/BAQDAgeAMAoGCCqGSM49BAMCA0gAMEUCIBgKGWcFr5nTrZnbJLHEp7yB\nmS+vw8x2N4l1VfAkxWPYAiEAgXA5Dzx0AuHEpC8n2Db8DmxDGOgaL4GxK0yQk4WV\nxOQ=\n-----END CERTIFICATE-----\n";

    fn claims(v: serde_json::Value) -> JsonObject {
        JsonObject::parse(v.to_string().into_bytes(), 64).unwrap()
    }

    #[test]
    fn thumbprints_from_plain_and_escaped_pem_agree() {
        let plain = thumbprint_of_header(PEM).unwrap();
        let escaped: String =
            percent_encoding::utf8_percent_encode(PEM, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(thumbprint_of_header(&escaped).unwrap(), plain);
        assert_eq!(plain.len(), 43, "base64url of 32 bytes");
        assert!(thumbprint_of_header("not a certificate").is_err());
        let key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert!(thumbprint_of_header(key).is_err());
    }

    #[test]
    fn a_bound_token_needs_its_certificate() {
        let t = thumbprint_of_header(PEM).unwrap();
        let bound = claims(serde_json::json!({"sub": "a", "cnf": {"x5t#S256": t}}));
        assert!(check(&bound, Some(&t)).is_ok());
        let e = check(&bound, Some("another")).unwrap_err();
        assert!(e.description.unwrap().starts_with("CERTIFICATE_MISMATCH"));
        let e = check(&bound, None).unwrap_err();
        assert_eq!(e.status, 401);
        assert!(e.description.unwrap().starts_with("CERTIFICATE_MISSING"));
        let plain = claims(serde_json::json!({"sub": "a"}));
        assert!(check(&plain, None).is_ok());
    }
}
