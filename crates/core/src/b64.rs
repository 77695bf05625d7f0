//! Strict base64url (RFC 7515 §2): URL-safe alphabet, no padding, no whitespace, and
//! canonical trailing bits, so one byte string has exactly one encoding. Uses
//! base64-simd: decoding the three segments is a visible share of a validation.

use base64_simd::URL_SAFE_NO_PAD;

/// Decodes strict unpadded base64url. `None` on any deviation.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    // refuses padding, whitespace, other alphabets and non-zero trailing bits
    URL_SAFE_NO_PAD.decode_to_vec(s).ok()
}

/// Whether `s` is strict unpadded base64url, without decoding it.
pub fn is_valid(s: &str) -> bool {
    URL_SAFE_NO_PAD.check(s.as_bytes()).is_ok()
}

/// Decodes into `buf`; `None` on any deviation or when `buf` is too small.
pub fn decode_into<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let n = URL_SAFE_NO_PAD.decoded_length(s.as_bytes()).ok()?;
    let out = buf.get_mut(..n)?;
    URL_SAFE_NO_PAD
        .decode(s.as_bytes(), base64_simd::Out::from_slice(out))
        .ok()
        .map(|d| &*d)
}

/// Encodes as unpadded base64url.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// Encodes as padded standard base64 (HTTP Basic credentials).
pub fn encode_std(bytes: impl AsRef<[u8]>) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict() {
        assert_eq!(decode("VGVzdA").as_deref(), Some(&b"Test"[..]));
        for bad in [
            "VGVzdA==", "VGVz dA", "VGVzdA\n", "VG+z", "VG/z", "VGVzdB", "A", "VGVzdA=", "VGVzdB==",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
        assert_eq!(decode(""), Some(vec![]));
        let mut buf = [0u8; 8];
        assert_eq!(decode_into("VGVzdA", &mut buf), Some(&b"Test"[..]));
        assert_eq!(decode_into("VGVzdB", &mut buf), None);
        assert_eq!(
            decode_into("VGVzdFRlc3RUZXN0", &mut buf),
            None,
            "too small a buffer"
        );
        assert!(is_valid("VGVzdA") && !is_valid("VGVzdA=="));
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        // every non-canonical spelling of a 1- and 2-byte tail is refused
        for n in 1..=2usize {
            let data = vec![0xa5u8; n];
            let good = encode(&data);
            let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            for c in alphabet.chars() {
                let cand = format!("{}{c}", &good[..good.len() - 1]);
                if cand != good {
                    assert!(decode(&cand).is_none_or(|d| d != data), "{cand}");
                    if let Some(d) = decode(&cand) {
                        assert_eq!(encode(&d), cand, "{cand} decodes but is not canonical");
                    }
                }
            }
        }
    }
}
