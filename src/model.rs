//! The plain data that flows through the pipeline: identities and the normalized `Story`.
//!
//! Owns no behaviour beyond construction helpers. Never names sqlx or reqwest: row types and HTTP
//! responses are converted into these at the edges (`store`, `fetch`).

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
id_type!(
    /// A row of `stories`.
    StoryId
);
id_type!(
    /// A row of `clusters`.
    ClusterId
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
}
