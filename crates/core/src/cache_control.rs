//! `Cache-Control` of a key set or discovery document, read once into its directives.
//! The key cache takes a lifetime from it (`jwtshield-jwks`); the issuer doctor judges it.

/// The directives that matter for how long a document may be kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Directives {
    /// `no-cache` or `no-store` appeared.
    pub no_cache: bool,
    /// The smallest `max-age`.
    pub max_age: Option<u64>,
    /// The smallest `s-maxage`.
    pub s_maxage: Option<u64>,
}

impl Directives {
    /// Reads every header value (directives are case-insensitive; a quoted number is
    /// accepted; a malformed one is ignored).
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Directives {
        let mut d = Directives::default();
        let min = |slot: &mut Option<u64>, n: u64| *slot = Some(slot.map_or(n, |a| a.min(n)));
        for value in values {
            for directive in value.split(',') {
                let lower = directive.trim().to_ascii_lowercase();
                if lower == "no-cache" || lower == "no-store" {
                    d.no_cache = true;
                } else if let Some(v) = lower.strip_prefix("max-age=") {
                    if let Ok(n) = v.trim_matches('"').parse::<u64>() {
                        min(&mut d.max_age, n);
                    }
                } else if let Some(v) = lower.strip_prefix("s-maxage=")
                    && let Ok(n) = v.trim_matches('"').parse::<u64>()
                {
                    min(&mut d.s_maxage, n);
                }
            }
        }
        d
    }

    /// The lifetime a cache may use: the smaller of `max-age` and `s-maxage`, none with
    /// `no-cache`/`no-store` or when neither is given.
    pub fn lifetime(&self) -> Option<u64> {
        if self.no_cache {
            return None;
        }
        match (self.max_age, self.s_maxage) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // the lifetime's cases are jwtshield-jwks's fetch::tests::cache_control
    #[test]
    fn each_directive_is_kept_apart() {
        let d = Directives::parse(["public, max-age=60, s-maxage=30", "max-age=45"]);
        assert_eq!(
            (d.max_age, d.s_maxage, d.no_cache),
            (Some(45), Some(30), false)
        );
        assert_eq!(d.lifetime(), Some(30));
        let d = Directives::parse(["max-age=600, no-store"]);
        assert!(d.no_cache);
        assert_eq!((d.max_age, d.lifetime()), (Some(600), None));
        assert_eq!(Directives::parse(["s-maxage=\"90\""]).lifetime(), Some(90));
        assert_eq!(
            Directives::parse(["no-store-ish, max-age=x"]),
            Directives::default()
        );
    }
}
