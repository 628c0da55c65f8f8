//! One polite HTTP request per feed refresh, returned as an outcome value, never a panic.
//!
//! Owns: the HTTP client (timeouts, decompression, User-Agent), conditional GET (validators sent back
//! verbatim), the body cap (applied after decompression), the redirect cap and loop detection, and the
//! private-network guard (checked on the resolved address, so DNS and redirects cannot get around it).
//! Error kinds come from the types of the errors (our resolver's, rustls's, reqwest's own
//! classification), never from the text of a message.
//! Never: parses feeds, touches the database, or lets a reqwest type leave this module.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;

use crate::config::FetchConfig;

/// Validators from the previous successful fetch, sent back exactly as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What the server said about when to come back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpHints {
    /// `Retry-After`, as an instant.
    pub retry_after: Option<DateTime<Utc>>,
    /// `Cache-Control: max-age`, else `Expires`, as an instant.
    pub fresh_until: Option<DateTime<Utc>>,
}

/// The result of one request.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: nothing changed. Carries refreshed validators when the server sent them.
    NotModified {
        validators: Validators,
        hints: HttpHints,
        /// Set when every redirect on the way was permanent (301/308): the feed's new address.
        moved_to: Option<String>,
    },
    /// 2xx with a body.
    Fetched(Fetched),
    /// 410: the feed is gone for good.
    Gone { status: u16 },
    /// 429 or 503.
    RateLimited { status: u16, hints: HttpHints },
    /// Any other failure.
    Failed(FetchError),
}

/// A successful response.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// The `charset` parameter of Content-Type, if any.
    pub charset: Option<String>,
    pub validators: Validators,
    /// Where the body came from after redirects.
    pub final_url: String,
    pub hints: HttpHints,
    /// Set when every redirect on the way was permanent (301/308): the feed's new address.
    pub moved_to: Option<String>,
}

/// Stable error kinds, stored in `feeds.last_error` and `fetches.error_kind` (the fetch ones are
/// a part of the set a refresh records).
pub use crate::model::ErrorKind;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub kind: ErrorKind,
    /// The HTTP status, when the failure is one.
    pub status: Option<u16>,
    pub message: String,
}

impl FetchError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            message: message.into(),
        }
    }
}

/// Raised inside reqwest's resolver and recognised on the way out.
#[derive(Debug, thiserror::Error)]
#[error("refused: {0} is not a public address (set fetch.allow_private_networks to allow)")]
struct Forbidden(String);

/// A name that did not resolve, raised inside our resolver and recognised on the way out by its
/// type (never by the text of the message).
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}")]
struct DnsFailure {
    host: String,
    source: std::io::Error,
}

/// The HTTP client, built once and shared.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: u64,
    max_redirects: usize,
    allow_private: bool,
}

impl Fetcher {
    /// Builds the client from `[fetch]`.
    pub fn new(cfg: &FetchConfig) -> Result<Self, FetchError> {
        let allow_private = cfg.allow_private_networks;
        // Redirects are followed here, hop by hop, so that each hop is checked and a permanent
        // move is seen.
        let mut builder = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .timeout(cfg.timeout())
            .connect_timeout(cfg.connect_timeout())
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .brotli(true)
            .pool_idle_timeout(Duration::from_secs(30));
        // Names always go through our resolver, so a failed lookup is known by its type.
        builder = builder.dns_resolver(Arc::new(Resolver {
            public_only: !allow_private,
        }));
        if !allow_private {
            // A proxy would resolve names itself, out of the guard's sight.
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::new(ErrorKind::Io, format!("building HTTP client: {e}")))?;
        Ok(Self {
            client,
            max_body_bytes: cfg.max_body_bytes,
            max_redirects: cfg.max_redirects,
            allow_private,
        })
    }

    /// One conditional GET of `url`.
    pub async fn fetch(&self, url: &str, validators: &Validators) -> FetchOutcome {
        match self.fetch_inner(url, validators).await {
            Ok(o) => o,
            Err(e) => FetchOutcome::Failed(e),
        }
    }

    async fn fetch_inner(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let mut current = url::Url::parse(url)
            .map_err(|e| FetchError::new(ErrorKind::InvalidUrl, format!("`{url}`: {e}")))?;
        let mut visited: Vec<url::Url> = Vec::new();
        let mut all_permanent = true;
        let mut resp = loop {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(FetchError::new(
                    ErrorKind::InvalidUrl,
                    format!("`{current}`: only http and https are fetched"),
                ));
            }
            if !self.allow_private && literal_ip_forbidden(&current) {
                return Err(FetchError::new(
                    ErrorKind::ForbiddenAddress,
                    Forbidden(current.to_string()).to_string(),
                ));
            }
            let mut req = self.client.get(current.clone());
            if let Some(etag) = &validators.etag {
                req = req.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(classify)?;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            let next = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| current.join(loc.trim()).ok())
                .ok_or_else(|| FetchError {
                    kind: ErrorKind::BadRedirect,
                    status: Some(status.as_u16()),
                    message: format!("HTTP {status} without a usable Location"),
                })?;
            visited.push(current);
            if visited.contains(&next) {
                return Err(FetchError::new(
                    ErrorKind::RedirectLoop,
                    format!("redirect loop: {next} was already visited"),
                ));
            }
            if visited.len() > self.max_redirects {
                return Err(FetchError::new(
                    ErrorKind::TooManyRedirects,
                    format!("more than {} redirects", self.max_redirects),
                ));
            }
            all_permanent &= matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            current = next;
        };
        let moved_to = (!visited.is_empty() && all_permanent).then(|| current.to_string());
        let status = resp.status();
        let headers = resp.headers().clone();
        let hints = hints_from(&headers, Utc::now());
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified {
                validators: validators_from(&headers),
                hints,
                moved_to,
            });
        }
        if status == StatusCode::GONE {
            return Ok(FetchOutcome::Gone { status: 410 });
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            return Ok(FetchOutcome::RateLimited {
                status: status.as_u16(),
                hints,
            });
        }
        if !status.is_success() {
            let kind = if status.is_server_error() {
                ErrorKind::Http5xx
            } else {
                ErrorKind::Http4xx
            };
            return Err(FetchError {
                kind,
                status: Some(status.as_u16()),
                message: format!("HTTP {status}"),
            });
        }
        if let Some(len) = resp.content_length() {
            // Content-Length is the compressed size; the decompressed body is checked as it streams.
            if len > self.max_body_bytes {
                return Err(too_large(self.max_body_bytes));
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if (body.len() + chunk.len()) as u64 > self.max_body_bytes {
                return Err(too_large(self.max_body_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(Fetched {
            status: status.as_u16(),
            body,
            charset: charset_of(&headers),
            validators: validators_from(&headers),
            final_url: current.to_string(),
            hints,
            moved_to,
        }))
    }
}

fn too_large(max: u64) -> FetchError {
    FetchError::new(
        ErrorKind::TooLarge,
        format!("body exceeds fetch.max_body_bytes ({max} bytes)"),
    )
}

fn validators_from(h: &HeaderMap) -> Validators {
    let get = |name| {
        h.get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    Validators {
        etag: get(header::ETAG),
        last_modified: get(header::LAST_MODIFIED),
    }
}

fn hints_from(h: &HeaderMap, now: DateTime<Utc>) -> HttpHints {
    let retry_after = h
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            match v.parse::<u64>() {
                Ok(secs) => Some(now + chrono::Duration::seconds(secs.min(30 * 86400) as i64)),
                Err(_) => DateTime::parse_from_rfc2822(v)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
            }
        });
    let fresh_until = cache_max_age(h)
        .map(|secs| now + chrono::Duration::seconds(secs.min(30 * 86400) as i64))
        .or_else(|| {
            h.get(header::EXPIRES)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
                .map(|t| t.with_timezone(&Utc))
        })
        .filter(|t| *t > now);
    HttpHints {
        retry_after,
        fresh_until,
    }
}

/// `max-age` of Cache-Control, unless the response may not be reused at all.
fn cache_max_age(h: &HeaderMap) -> Option<u64> {
    let cc = h
        .get(header::CACHE_CONTROL)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    if cc.contains("no-cache") || cc.contains("no-store") {
        return None;
    }
    cc.split(',').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        (k.trim() == "max-age")
            .then(|| v.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

fn charset_of(h: &HeaderMap) -> Option<String> {
    let ct = h.get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Maps a reqwest error to a stable kind from the types in its chain of causes: our resolver's
/// [`Forbidden`] and [`DnsFailure`], rustls's errors for TLS, then reqwest's own classification.
fn classify(e: reqwest::Error) -> FetchError {
    let mut kind = None;
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        // `io::Error::source` skips the error it wraps (and I/O errors nest): look inside them.
        let wrapped = std::iter::successors(Some(s), |e| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|inner| inner as &(dyn StdError + 'static))
        })
        .take(8);
        for candidate in wrapped {
            if let Some(f) = candidate.downcast_ref::<Forbidden>() {
                return FetchError::new(ErrorKind::ForbiddenAddress, f.to_string());
            }
            if candidate.is::<DnsFailure>() {
                kind = kind.or(Some(ErrorKind::Dns));
            }
            if candidate.is::<rustls::Error>() {
                kind = kind.or(Some(ErrorKind::Tls));
            }
        }
        source = s.source();
    }
    let kind = kind.unwrap_or(if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Io
    });
    FetchError::new(kind, error_chain(&e))
}

fn error_chain(e: &dyn StdError) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg.push_str(": ");
            msg.push_str(&part);
        }
        source = s.source();
    }
    msg
}

fn literal_ip_forbidden(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => true,
    }
}

/// True for addresses on the public internet; false for loopback, private, link-local, shared,
/// documentation, benchmarking, multicast, reserved and unspecified ranges.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

/// The client's resolver: failed lookups come out as [`DnsFailure`], and with `public_only` it
/// drops non-public addresses, so the check happens on the address actually dialled.
struct Resolver {
    public_only: bool,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let public_only = self.public_only;
        Box::pin(async move {
            let looked_up = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map(|a| a.collect::<Vec<SocketAddr>>());
            let addrs = match looked_up {
                Ok(a) => a,
                Err(source) => {
                    return Err(
                        Box::new(DnsFailure { host, source }) as Box<dyn StdError + Send + Sync>
                    )
                }
            };
            let kept: Vec<SocketAddr> = if public_only {
                let public: Vec<SocketAddr> =
                    addrs.into_iter().filter(|a| is_public(a.ip())).collect();
                if public.is_empty() {
                    return Err(Box::new(Forbidden(host)) as Box<dyn StdError + Send + Sync>);
                }
                public
            } else if addrs.is_empty() {
                let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses");
                return Err(
                    Box::new(DnsFailure { host, source }) as Box<dyn StdError + Send + Sync>
                );
            } else {
                addrs
            };
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_private_addresses() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("fe80::1", false),
            ("fd00::1", false),
            ("::ffff:127.0.0.1", false),
            ("2606:4700::1111", true),
        ] {
            let addr: IpAddr = ip.parse().expect("valid ip");
            assert_eq!(is_public(addr), public, "{ip}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, "120".parse().expect("header"));
        assert_eq!(
            hints_from(&h, now).retry_after,
            Some(now + chrono::Duration::seconds(120))
        );
        h.insert(
            header::RETRY_AFTER,
            "Mon, 01 Jan 2024 01:00:00 GMT".parse().expect("header"),
        );
        assert_eq!(
            hints_from(&h, now).retry_after,
            Some(now + chrono::Duration::hours(1))
        );
        h.insert(header::RETRY_AFTER, "soon".parse().expect("header"));
        assert_eq!(hints_from(&h, now).retry_after, None);
    }

    #[test]
    fn freshness_from_cache_control_then_expires() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(
            header::EXPIRES,
            "Mon, 01 Jan 2024 02:00:00 GMT".parse().expect("header"),
        );
        assert_eq!(
            hints_from(&h, now).fresh_until,
            Some(now + chrono::Duration::hours(2))
        );
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=600".parse().expect("header"),
        );
        assert_eq!(
            hints_from(&h, now).fresh_until,
            Some(now + chrono::Duration::minutes(10))
        );
        h.insert(
            header::CACHE_CONTROL,
            "no-cache, max-age=600".parse().expect("header"),
        );
        // no-cache: max-age is ignored; Expires still counts.
        assert_eq!(
            hints_from(&h, now).fresh_until,
            Some(now + chrono::Duration::hours(2))
        );
    }

    fn client(allow_private: bool) -> Fetcher {
        let cfg = FetchConfig {
            allow_private_networks: allow_private,
            timeout_secs: 5,
            connect_timeout_secs: 5,
            ..FetchConfig::default()
        };
        Fetcher::new(&cfg).expect("client")
    }

    fn failure(outcome: FetchOutcome) -> FetchError {
        match outcome {
            FetchOutcome::Failed(e) => e,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_a_dns_error() {
        for allow_private in [false, true] {
            let e = failure(
                client(allow_private)
                    .fetch("http://no-such-host.invalid/feed", &Validators::default())
                    .await,
            );
            assert_eq!(e.kind, ErrorKind::Dns, "allow_private {allow_private}: {e}");
            // The name once, and "dns error" once (the connector says it; we do not again).
            let text = e.to_string();
            assert_eq!(
                text.matches("cannot resolve no-such-host.invalid").count(),
                1,
                "{text}"
            );
            assert_eq!(text.matches("dns error").count(), 1, "{text}");
        }
    }

    #[tokio::test]
    async fn a_server_that_does_not_speak_tls_is_a_tls_error() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi")
                    .await;
            }
        });
        let e = failure(
            client(true)
                .fetch(&format!("https://{addr}/feed"), &Validators::default())
                .await,
        );
        assert_eq!(e.kind, ErrorKind::Tls, "{e}");
        // Refused before any connection: the address guard's kind, not a network one.
        let e = failure(
            client(false)
                .fetch(&format!("https://{addr}/feed"), &Validators::default())
                .await,
        );
        assert_eq!(e.kind, ErrorKind::ForbiddenAddress, "{e}");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("address").port()
        };
        let e = failure(
            client(true)
                .fetch(
                    &format!("http://127.0.0.1:{port}/feed"),
                    &Validators::default(),
                )
                .await,
        );
        assert_eq!(e.kind, ErrorKind::Connect, "{e}");
    }

    #[test]
    fn charset_parameter() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/rss+xml; Charset=\"windows-1250\""
                .parse()
                .expect("header"),
        );
        assert_eq!(charset_of(&h).as_deref(), Some("windows-1250"));
    }
}
