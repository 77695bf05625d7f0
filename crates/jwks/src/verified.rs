//! The verified-signature cache: "this exact token verified with this key", so a token
//! presented again skips the signature math. See `jwtshield_core::sigcache` for why a
//! hit can never change a verdict. Bounded by entries (quick_cache, S3-FIFO eviction);
//! an entry is void from the token's `exp` on and is dropped when read then.

use jwtshield_core::{Digest, SignatureCache, VerifiedSignature};

/// Default number of entries.
pub const DEFAULT_ENTRIES: usize = 65_536;

/// A bounded, concurrent [`SignatureCache`].
pub struct VerifiedCache {
    cache: quick_cache::sync::Cache<Digest, VerifiedSignature>,
    entries: usize,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifiedCache({}/{} entries)", self.len(), self.entries)
    }
}

impl VerifiedCache {
    /// A cache of at most about `entries` tokens; `None` for 0 (the cache is off).
    pub fn new(entries: usize) -> Option<VerifiedCache> {
        (entries > 0).then(|| VerifiedCache {
            cache: quick_cache::sync::Cache::new(entries),
            entries,
        })
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.cache.len() == 0
    }

    /// The configured bound.
    pub fn capacity(&self) -> usize {
        self.entries
    }
}

impl SignatureCache for VerifiedCache {
    fn get(&self, token: &Digest, now: i64) -> Option<VerifiedSignature> {
        let entry = self.cache.get(token)?;
        if entry.until > now {
            return Some(entry);
        }
        self.cache.remove(token);
        None
    }

    fn insert(&self, token: Digest, entry: VerifiedSignature) {
        self.cache.insert(token, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwtshield_core::Alg;

    #[test]
    fn entries_are_void_from_exp_on_and_zero_turns_it_off() {
        assert!(VerifiedCache::new(0).is_none());
        let c = VerifiedCache::new(16).unwrap();
        let e = VerifiedSignature {
            key: [1; 32],
            alg: Alg::RS256,
            until: 100,
        };
        c.insert([7; 32], e);
        assert_eq!(c.get(&[7; 32], 99), Some(e));
        assert_eq!(c.get(&[8; 32], 99), None);
        assert_eq!(c.get(&[7; 32], 100), None, "void at exp");
        assert!(c.is_empty(), "a void entry is dropped when read");
    }

    #[test]
    fn bounded_by_entries() {
        let c = VerifiedCache::new(100).unwrap();
        for i in 0..10_000u32 {
            let mut d = [0u8; 32];
            d[..4].copy_from_slice(&i.to_le_bytes());
            c.insert(
                d,
                VerifiedSignature {
                    key: [0; 32],
                    alg: Alg::ES256,
                    until: i64::MAX,
                },
            );
        }
        assert!(c.len() <= 110, "{} entries", c.len());
    }
}
