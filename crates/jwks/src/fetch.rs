//! One HTTP GET of a key set or discovery document: guarded, bounded in time and size,
//! no cookies, no proxy, no credentials, redirects only to URLs the guard accepts.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, HeaderMap};
use url::Url;

use crate::guard::{GuardConfig, GuardedResolver, Refusal};

/// Most redirects followed.
pub const MAX_REDIRECTS: usize = 3;

/// Why a fetch produced no document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// The guard refused the URL or an address; nothing was sent there.
    Refused(String),
    /// Network error, timeout, bad status, oversized body.
    Failed(String),
    /// The server answered 404.
    NotFound,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Refused(r) => write!(f, "refused: {r}"),
            FetchError::Failed(r) => f.write_str(r),
            FetchError::NotFound => f.write_str("HTTP 404 Not Found"),
        }
    }
}

/// A fetched document.
#[derive(Debug)]
pub struct Fetched {
    /// The body, at most the size cap.
    pub body: Vec<u8>,
    /// `Cache-Control: max-age` in seconds, when present and not `no-cache`/`no-store`.
    pub max_age: Option<u64>,
    /// The `Cache-Control` header as sent, its lines joined (for the issuer doctor).
    pub cache_control: Option<String>,
}

/// The HTTP side: a client with the guard wired in.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    guard: Arc<GuardConfig>,
    max_bytes: usize,
    timeout: Duration,
}

/// Parses `Cache-Control` for a lifetime: `max-age` (or `s-maxage`), or `None` when absent,
/// `no-cache` or `no-store`.
pub fn max_age(headers: &HeaderMap) -> Option<u64> {
    jwtshield_core::cache_control::Directives::parse(
        headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
    .lifetime()
}

fn describe(e: &reqwest::Error) -> FetchError {
    // a refusal from the resolver or the redirect policy is buried in the source chain
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<Refusal>() {
            return FetchError::Refused(r.0.clone());
        }
        src = s.source();
    }
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_redirect() {
        "too many redirects".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut detail = String::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    if e.is_redirect() {
        // reqwest refuses some redirects itself (other schemes, loops) before our policy
        return FetchError::Refused(format!(
            "redirect refused: {}",
            if detail.is_empty() {
                e.to_string()
            } else {
                detail
            }
        ));
    }
    if detail.is_empty() {
        FetchError::Failed(what)
    } else {
        FetchError::Failed(format!("{what}: {detail}"))
    }
}

impl Http {
    /// A client for `guard`, with a per-request `timeout` and body cap `max_bytes`,
    /// trusting the system's roots and `extra_roots` (PEM, for a private PKI).
    pub fn new(
        guard: GuardConfig,
        timeout: Duration,
        max_bytes: usize,
        extra_roots: Option<&[u8]>,
    ) -> Result<Http, String> {
        let guard = Arc::new(guard);
        let redirect_guard = guard.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(Refusal(format!("more than {MAX_REDIRECTS} redirects")));
            }
            let target = attempt.url().to_string();
            match redirect_guard.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(r) => attempt.error(Refusal(format!("redirect to {target}: {r}"))),
            }
        });
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json, application/jwk-set+json"),
        );
        let roots = match extra_roots {
            Some(pem) => reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("cannot read the extra CA certificates: {e}"))?,
            None => Vec::new(),
        };
        let client = reqwest::Client::builder()
            .tls_certs_merge(roots)
            .default_headers(headers)
            .user_agent(concat!("jwtshield/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(policy)
            .no_proxy()
            .https_only(!guard.allow_http)
            .dns_resolver(Arc::new(GuardedResolver::new(guard.clone())))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Http {
            client,
            guard,
            max_bytes,
            timeout,
        })
    }

    /// GETs `url` under the guard, the timeout and the size cap.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let parsed = self.check(url)?;
        let request = self.client.get(parsed);
        self.send(request).await
    }

    /// POSTs a form to `url` under the guard, the timeout and the size cap, with HTTP
    /// Basic client authentication as RFC 6749 §2.3.1 says (id and secret form-encoded
    /// first). For RFC 7662 introspection. Any status but 2xx is a failure.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        client: (&str, &str),
    ) -> Result<Fetched, FetchError> {
        let parsed = self.check(url)?;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = jwtshield_core::b64::encode_std(format!("{}:{}", enc(client.0), enc(client.1)));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut auth = reqwest::header::HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| FetchError::Failed("the client credentials cannot be sent".into()))?;
        auth.set_sensitive(true);
        let request = self
            .client
            .post(parsed)
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        match self.send(request).await {
            Err(FetchError::NotFound) => Err(FetchError::Failed("HTTP 404 Not Found".into())),
            other => other,
        }
    }

    fn check(&self, url: &str) -> Result<Url, FetchError> {
        let parsed =
            Url::parse(url).map_err(|e| FetchError::Refused(format!("{url} is not a URL: {e}")))?;
        self.guard
            .check_url(&parsed)
            .map_err(|r| FetchError::Refused(r.0))?;
        Ok(parsed)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Fetched, FetchError> {
        // the client timeout covers connect and body; this bounds everything else too
        let work = async {
            let mut resp = request.send().await.map_err(|e| describe(&e))?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Err(FetchError::NotFound);
            }
            if status.is_redirection() {
                // reqwest follows the redirects our policy accepts; one that reaches us
                // was not followed (another scheme, no Location)
                let to = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(no location)")
                    .to_owned();
                return Err(FetchError::Refused(format!(
                    "redirect to {to} not followed"
                )));
            }
            if !status.is_success() {
                return Err(FetchError::Failed(format!("HTTP {status}")));
            }
            let declared = resp
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > self.max_bytes as u64) {
                return Err(FetchError::Failed(format!(
                    "the response is {} bytes, over the {}-byte limit",
                    declared.unwrap_or_default(),
                    self.max_bytes
                )));
            }
            let max_age = max_age(resp.headers());
            // every Cache-Control line, as one list (RFC 9110 §5.3): what max_age read
            let lines: Vec<&str> = resp
                .headers()
                .get_all(CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let cache_control = (!lines.is_empty()).then(|| lines.join(", "));
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
                if body.len() + chunk.len() > self.max_bytes {
                    return Err(FetchError::Failed(format!(
                        "the response is over the {}-byte limit",
                        self.max_bytes
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched {
                body,
                max_age,
                cache_control,
            })
        };
        match tokio::time::timeout(self.timeout + Duration::from_millis(100), work).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Failed(format!(
                "timed out after {:?}",
                self.timeout
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(CACHE_CONTROL, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn cache_control() {
        assert_eq!(
            max_age(&h("public, max-age=24873, must-revalidate, no-transform")),
            Some(24873)
        );
        assert_eq!(max_age(&h("max-age=60, s-maxage=30")), Some(30));
        assert_eq!(max_age(&h("no-cache")), None);
        assert_eq!(max_age(&h("max-age=600, no-store")), None);
        assert_eq!(max_age(&h("MAX-AGE=\"90\"")), Some(90));
        assert_eq!(max_age(&h("max-age=abc")), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }
}
