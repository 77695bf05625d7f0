//! The SSRF guard: key-set URLs must be https and must not reach loopback, private,
//! link-local, unique-local, CGNAT, multicast, reserved or documentation addresses,
//! including IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4).
//! Host names are resolved here and the connection goes to exactly the addresses that
//! were checked (reqwest's resolver hook), so DNS rebinding cannot slip past.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// What the guard allows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuardConfig {
    /// Allow `http://` (development and tests only).
    pub allow_http: bool,
    /// Allow every internal address (development and tests only).
    pub allow_private: bool,
    /// Exact addresses allowed although internal: an IdP on a private network
    /// (`JWTSHIELD_JWKS_ALLOW_ADDRS`), or a test server.
    pub allowed_addrs: Vec<SocketAddr>,
}

impl GuardConfig {
    /// The `--jwks-allow-insecure` setting: http and internal addresses allowed.
    pub fn insecure() -> Self {
        GuardConfig {
            allow_http: true,
            allow_private: true,
            allowed_addrs: Vec::new(),
        }
    }
}

/// A URL or address the guard refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let reason = match o {
        [0, ..] => "a \"this network\" address (0.0.0.0/8)",
        [127, ..] => "a loopback address",
        [10, ..] => "a private address (10.0.0.0/8)",
        [172, b, ..] if (16..=31).contains(&b) => "a private address (172.16.0.0/12)",
        [192, 168, ..] => "a private address (192.168.0.0/16)",
        [100, b, ..] if (64..=127).contains(&b) => "a carrier-grade NAT address (100.64.0.0/10)",
        [169, 254, ..] => "a link-local address (169.254.0.0/16, cloud metadata)",
        [192, 0, 0, _] => "an IETF protocol address (192.0.0.0/24)",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "a documentation address",
        [198, b, ..] if b == 18 || b == 19 => "a benchmarking address (198.18.0.0/15)",
        [255, 255, 255, 255] => "the broadcast address",
        [a, ..] if (224..=239).contains(&a) => "a multicast address",
        [a, ..] if a >= 240 => "a reserved address (240.0.0.0/4)",
        _ => return None,
    };
    Some(reason)
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated)
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(tail),
        // 64:ff9b::/96 NAT64
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        // 2002::/16 6to4 carries the IPv4 address in bits 16..48
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// Why an address must not be contacted, or `None` when it is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4).map(str::to_owned),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                // :: and ::1 fall here too (compatible form of 0.0.0.0 / 0.0.0.1)
                if v6.is_unspecified() {
                    return Some("the unspecified address (::)".into());
                }
                if v6.is_loopback() {
                    return Some("a loopback address (::1)".into());
                }
                return v4_reason(v4).map(|r| format!("{r}, embedded in IPv6 as {v6}"));
            }
            let s = v6.segments();
            let reason = match s[0] {
                x if x & 0xfe00 == 0xfc00 => "a unique-local address (fc00::/7)",
                x if x & 0xffc0 == 0xfe80 => "a link-local address (fe80::/10)",
                x if x & 0xffc0 == 0xfec0 => "a site-local address (fec0::/10)",
                x if x & 0xff00 == 0xff00 => "a multicast address (ff00::/8)",
                0x2001 if s[1] == 0 => "a Teredo address (2001::/32), which hides an IPv4 address",
                0x2001 if s[1] == 0x0db8 => "a documentation address (2001:db8::/32)",
                0x0064 if s[1] == 0xff9b && s[2] == 1 => {
                    "a local-use NAT64 address (64:ff9b:1::/48)"
                }
                0x0100 if s[1..4] == [0, 0, 0] => "a discard-only address (100::/64)",
                _ => return None,
            };
            Some(reason.to_owned())
        }
    }
}

impl GuardConfig {
    fn address_allowed(&self, addr: SocketAddr) -> Result<(), Refusal> {
        if self.allow_private || self.allowed_addrs.contains(&addr) {
            return Ok(());
        }
        match forbidden_reason(addr.ip()) {
            None => Ok(()),
            Some(why) => Err(Refusal(format!("{} is {why}", addr.ip()))),
        }
    }

    /// Checks a URL before anything is sent: scheme, credentials, IP-literal hosts.
    /// Host names are checked when they resolve (see [`GuardedResolver`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err(Refusal(format!(
                    "{url} is not https; key sets are fetched over https only (--jwks-allow-insecure lifts this for development)"
                )));
            }
            other => {
                return Err(Refusal(format!(
                    "the scheme {other}: is not allowed for key sets"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal(
                "credentials in a key-set URL are not allowed".into(),
            ));
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if !self.allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                    return Err(Refusal(format!("{d} is a loopback name")));
                }
                return Ok(());
            }
            None => return Err(Refusal(format!("{url} has no host"))),
        };
        self.address_allowed(SocketAddr::new(ip, port))
    }
}

/// A DNS resolver that refuses names resolving to any internal address; reqwest then
/// connects only to the addresses returned here.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    guard: Arc<GuardConfig>,
}

impl GuardedResolver {
    /// A resolver applying `guard`.
    pub fn new(guard: Arc<GuardConfig>) -> Self {
        GuardedResolver { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(Refusal(format!("{host} does not resolve"))) as _);
            }
            // one internal address is enough to refuse: mixed answers are a rebinding trick
            for a in &addrs {
                if guard.allow_private {
                    break;
                }
                if guard.allowed_addrs.iter().any(|x| x.ip() == a.ip()) {
                    continue;
                }
                if let Some(why) = forbidden_reason(a.ip()) {
                    return Err(
                        Box::new(Refusal(format!("{host} resolves to {}, {why}", a.ip()))) as _,
                    );
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(s: &str) -> bool {
        forbidden_reason(s.parse().unwrap()).is_some()
    }

    #[test]
    fn internal_addresses_of_every_form_are_refused() {
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2001::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(forbidden(a), "{a} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert!(!forbidden(a), "{a} must pass");
        }
    }

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        let g = GuardConfig::default();
        let refused = |u: &str| g.check_url(&Url::parse(u).unwrap()).is_err();
        // the URL parser canonicalizes decimal, octal, hex and short IPv4 forms
        for u in [
            "http://example.com/jwks.json",
            "file:///etc/passwd",
            "gopher://127.0.0.1:6379/_INFO",
            "https://127.0.0.1/jwks",
            "https://2130706433/jwks",
            "https://0177.0.0.1/jwks",
            "https://0x7f.1/jwks",
            "https://127.1/jwks",
            "https://[::1]/jwks",
            "https://[::ffff:7f00:1]/jwks",
            "https://169.254.169.254/latest/meta-data/",
            "https://localhost/jwks",
            "https://api.localhost./jwks",
            "https://user:pw@example.com/jwks",
            "https://0.0.0.0/",
        ] {
            assert!(refused(u), "{u}");
        }
        assert!(!refused("https://acme.auth0.com/.well-known/jwks.json"));
        assert!(!refused("https://8.8.8.8/jwks"));
        let dev = GuardConfig::insecure();
        assert!(
            dev.check_url(&Url::parse("http://127.0.0.1:9/jwks").unwrap())
                .is_ok()
        );
        let one = GuardConfig {
            allow_http: true,
            allow_private: false,
            allowed_addrs: vec!["127.0.0.1:4000".parse().unwrap()],
        };
        assert!(
            one.check_url(&Url::parse("http://127.0.0.1:4000/jwks").unwrap())
                .is_ok()
        );
        assert!(
            one.check_url(&Url::parse("http://127.0.0.1:4001/jwks").unwrap())
                .is_err()
        );
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused() {
        let r = GuardedResolver::new(Arc::new(GuardConfig::default()));
        let err = r.resolve("localhost".parse::<Name>().unwrap()).await;
        let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("loopback"), "{msg}");
        let open = GuardedResolver::new(Arc::new(GuardConfig::insecure()));
        assert!(
            open.resolve("localhost".parse::<Name>().unwrap())
                .await
                .is_ok()
        );
    }
}
