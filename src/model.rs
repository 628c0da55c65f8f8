//! The plain data that flows through the pipeline: identities, the normalized `Story`, and the
//! closed sets a refresh records (fetch outcome, feed status, error kind) with their stored
//! spellings.
//!
//! Owns no behaviour beyond construction helpers and the `as_str`/`parse` of each stored value.
//! Never names sqlx or reqwest: row types and HTTP responses are converted into these at the edges
//! (`store`, `fetch`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A row of `feeds`.
    FeedId
);

/// Defines a closed set of values stored as fixed strings: `as_str` gives the stored spelling,
/// `parse` reads it back (`None` for a spelling that is not one of them), `ALL` lists them.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Reads a stored spelling back.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum!(
    /// How one poll of a feed ended, as `fetches.outcome` and the metrics name it.
    Outcome {
        /// A new body was read and its stories stored.
        Fetched => "fetched",
        /// The body was byte-identical to the last one read: nothing parsed.
        Unchanged => "unchanged",
        /// HTTP 304.
        NotModified => "not_modified",
        /// HTTP 410: polling stopped.
        Gone => "gone",
        /// HTTP 429 or 503.
        RateLimited => "rate_limited",
        /// Any failure: the error kind says which.
        Error => "error",
        /// Held back by its host's budget: not fetched, not an error.
        Deferred => "deferred",
    }
);

stored_enum!(
    /// A feed's `status`.
    FeedStatus {
        /// Polled when due.
        Active => "active",
        /// Answered 410 Gone: no longer polled.
        Gone => "gone",
        /// Removed from the config file: kept, not polled.
        Paused => "paused",
    }
);

stored_enum!(
    /// Why a refresh failed, as `feeds.last_error` and `fetches.error_kind` store it.
    ErrorKind {
        /// The request timed out.
        Timeout => "timeout",
        /// The body passed `fetch.max_body_bytes`.
        TooLarge => "too_large",
        /// A 4xx status other than 410 and 429.
        Http4xx => "http_4xx",
        /// A 5xx status other than 503.
        Http5xx => "http_5xx",
        /// Redirects came back to an address already visited.
        RedirectLoop => "redirect_loop",
        /// More redirects than `fetch.max_redirects`.
        TooManyRedirects => "too_many_redirects",
        /// A redirect without a usable Location.
        BadRedirect => "bad_redirect",
        /// The address is not public and `fetch.allow_private_networks` is off.
        ForbiddenAddress => "forbidden_address",
        /// The URL cannot be requested.
        InvalidUrl => "invalid_url",
        /// The host name did not resolve.
        Dns => "dns",
        /// No connection could be made.
        Connect => "connect",
        /// The TLS handshake failed.
        Tls => "tls",
        /// The connection failed while the response was read.
        Io => "io",
        /// The document is not a feed (an HTML page, empty, no feed root).
        NotAFeed => "not_a_feed",
        /// A feed, but no item in it could be read.
        Parse => "parse",
        /// The document took more than `daemon.document_budget_ms` of CPU to process.
        OverBudget => "over_budget",
        /// HTTP 410.
        Gone => "gone",
        /// HTTP 429 or 503.
        RateLimited => "rate_limited",
        /// The refresh could not be written.
        Database => "database",
    }
);

/// A feed as the daemon needs it for one refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub id: FeedId,
    pub url: String,
    /// The `sources` row of the publisher.
    pub source_id: i64,
    pub source: String,
    pub is_wire: bool,
    /// Fetch each new item's article page and use its main text when it beats the summary.
    pub full_text: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<String>,
    pub consecutive_errors: u32,
    /// The interval the scheduler settled on last time, in seconds.
    pub interval_secs: Option<i64>,
}

/// One item, normalized: what `stories` stores (less what the database assigns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// Stable key within its feed: from the raw guid/id, else the link, else a hash of title and date.
    pub key: String,
    /// The item's link, resolved against the document's base.
    pub url: Option<String>,
    /// The link without tracking parameters or fragment.
    pub canonical_url: Option<String>,
    /// Title as plain text.
    pub title: String,
    /// Body as plain text, paragraphs separated by a blank line; without the dateline and the
    /// outlet's header, footer and inserted lines.
    pub body: String,
    /// The body's HTML, sanitized (no scripts, handlers or `javascript:` URLs; links absolute).
    pub body_html: Option<String>,
    /// Author names.
    pub authors: Vec<String>,
    /// When the item was first published (UTC); falls back to `updated`.
    pub published: Option<DateTime<Utc>>,
    /// When the item was last updated (UTC).
    pub updated: Option<DateTime<Utc>>,
    /// ISO 639-1 language code, when known.
    pub language: Option<String>,
    /// Short name of the wire service that wrote the story (`AP`, `Reuters`, ...), when known.
    pub wire_service: Option<String>,
    /// The story's dateline ("BELGRADE, Serbia"), when it has one.
    pub dateline: Option<String>,
    /// The content hash of the feed's own version of the item, when the stored text came from
    /// elsewhere (the article page of a `full_text` feed): the item counts as changed only when
    /// the feed's version changes.
    #[serde(skip)]
    pub feed_hash: Option<String>,
}

impl Story {
    /// A hash over every stored field: equal hashes mean nothing a reader sees has changed.
    pub fn content_hash(&self) -> String {
        if let Some(h) = &self.feed_hash {
            return h.clone();
        }
        let mut h = blake3::Hasher::new();
        let mut field = |s: &str| {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(&self.key);
        field(self.url.as_deref().unwrap_or(""));
        field(self.canonical_url.as_deref().unwrap_or(""));
        field(&self.title);
        field(&self.body);
        field(self.body_html.as_deref().unwrap_or(""));
        for a in &self.authors {
            field(a);
        }
        field(&rfc3339_opt(self.published).unwrap_or_default());
        field(&rfc3339_opt(self.updated).unwrap_or_default());
        field(self.language.as_deref().unwrap_or(""));
        field(self.wire_service.as_deref().unwrap_or(""));
        field(self.dateline.as_deref().unwrap_or(""));
        h.finalize().to_hex()[..32].to_owned()
    }
}

/// RFC 3339 in UTC with a `Z`, whole seconds: the one timestamp format wirefeed prints and stores
/// as text.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The fixed-width text form SQLite stores: RFC 3339, UTC, milliseconds, `Z`. Fixed width keeps
/// text order equal to time order.
pub fn db_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// [`db_time`] over an optional instant.
pub fn db_time_opt(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(db_time)
}

/// Reads a stored text instant back and prints it as [`rfc3339`]; text that is not an instant is
/// passed through unchanged.
pub fn display_time(stored: Option<String>) -> Option<String> {
    stored.map(|s| {
        DateTime::parse_from_rfc3339(&s)
            .map(|t| rfc3339(t.with_timezone(&Utc)))
            .unwrap_or(s)
    })
}

/// [`rfc3339`] over an optional instant.
pub fn rfc3339_opt(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story() -> Story {
        Story {
            key: "k".into(),
            url: Some("https://example.com/a".into()),
            canonical_url: None,
            title: "T".into(),
            body: "B".into(),
            body_html: None,
            authors: vec!["A".into()],
            published: None,
            updated: None,
            language: None,
            wire_service: None,
            dateline: None,
            feed_hash: None,
        }
    }

    #[test]
    fn content_hash_changes_with_any_field_and_not_otherwise() {
        let a = story();
        assert_eq!(a.content_hash(), story().content_hash());
        let mut b = story();
        b.body = "B2".into();
        assert_ne!(a.content_hash(), b.content_hash());
        let mut c = story();
        c.title = "TB".into();
        c.body = String::new();
        assert_ne!(
            a.content_hash(),
            c.content_hash(),
            "fields are length-delimited"
        );
    }

    #[test]
    fn stored_spellings_read_back() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
        for s in FeedStatus::ALL {
            assert_eq!(FeedStatus::parse(s.as_str()), Some(*s));
        }
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Outcome::parse("fetched"), Some(Outcome::Fetched));
        assert_eq!(Outcome::parse("exploded"), None);
        assert_eq!(ErrorKind::parse("Timeout"), None, "spellings are exact");
    }
}
