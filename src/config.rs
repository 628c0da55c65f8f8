//! The configuration file: its types, their defaults, and validation.
//!
//! Owns the one place where defaults live (`Default` impls below, mirrored by the shipped
//! `config/wirefeed.toml`, which a test keeps in step). Every problem in a file is reported together:
//! unknown keys (typos) are collected while deserializing, then values are checked one by one.
//!
//! Environment variables read here: `WIREFEED_DATABASE_URL` (overrides `database.url`). The CLI reads
//! `WIREFEED_CONFIG` to find the file. This module never touches the network or the database.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// Where stories are stored.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// How feeds are fetched.
    pub fetch: FetchConfig,
    /// When feeds are polled.
    pub schedule: ScheduleConfig,
    /// How hard any one host is hit.
    pub politeness: PolitenessConfig,
    /// How stories are cleaned.
    pub normalize: NormalizeConfig,
    /// How the daemon runs.
    pub daemon: DaemonConfig,
    /// How reprints and updates are recognised.
    pub dedup: DedupConfig,
    /// The admin HTTP listener.
    pub admin: AdminConfig,
    /// How long the fetch log and stories are kept.
    pub retention: RetentionConfig,
    /// Regions added to the shipped ones, or replacing one of the same slug.
    pub regions: Vec<RegionConfig>,
    /// The user's topics.
    pub topics: Vec<TopicConfig>,
    /// The feeds to poll, synced into the `feeds` table at start.
    pub feeds: Vec<FeedConfig>,
    /// The file this configuration was loaded from (`None`: built-in defaults), so messages
    /// can name the line to edit. Not a key of the file.
    #[serde(skip)]
    pub path: Option<std::path::PathBuf>,
}

/// `[database]`
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `postgres://user@host/db` or `sqlite://PATH` (created if missing). Overridden by the
    /// environment variable `WIREFEED_DATABASE_URL`.
    pub url: String,
    /// Upper bound on pooled connections.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://wirefeed.db".to_owned(),
            max_connections: 8,
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// Replaces the password of a URL with `***`, for logs and error messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `wirefeed=debug,sqlx=warn`. `RUST_LOG` overrides it.
    pub level: String,
    /// `text` for people, `json` for machines. `--log-format` overrides it.
    pub format: LogFormat,
    /// Seconds between the daemon's INFO summary lines (feeds polled, stories, errors by kind,
    /// the most overdue feed); 0 turns them off.
    pub summary_interval_secs: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Text,
            summary_interval_secs: 300,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[fetch]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct FetchConfig {
    /// The User-Agent header sent with every request.
    pub user_agent: String,
    /// Whole-request deadline, headers and body included.
    pub timeout_secs: u64,
    /// Deadline for establishing the TCP (and TLS) connection.
    pub connect_timeout_secs: u64,
    /// Largest body accepted, counted after decompression.
    pub max_body_bytes: u64,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Items taken from one document; the rest are skipped and counted.
    pub max_items_per_feed: usize,
    /// Requests in flight at once, across all feeds.
    pub concurrency: usize,
    /// Article pages fetched per refresh of a `full_text` feed (new items only); the rest keep
    /// the feed's text.
    pub full_text_per_refresh: usize,
    /// Allow requests to loopback, private and link-local addresses. Off by default so that a feed
    /// URL (or a redirect) cannot reach into the network the daemon runs in.
    pub allow_private_networks: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            user_agent: default_user_agent(),
            timeout_secs: 30,
            connect_timeout_secs: 10,
            max_body_bytes: 16 * 1024 * 1024,
            max_redirects: 5,
            max_items_per_feed: 1000,
            concurrency: 32,
            full_text_per_refresh: 20,
            allow_private_networks: false,
        }
    }
}

/// Upper bound on any duration in the config: a year, so arithmetic on instants never overflows.
const MAX_SECS: u64 = 366 * 86400;

/// The default User-Agent: names wirefeed and its version.
pub fn default_user_agent() -> String {
    format!(
        "wirefeed/{} (+https://github.com/wirefeed/wirefeed)",
        env!("CARGO_PKG_VERSION")
    )
}

/// `[schedule]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct ScheduleConfig {
    /// Time between two polls of a feed whose publishing rate is not known yet.
    pub interval_secs: u64,
    /// Shortest time between two polls of one feed, however busy it is.
    pub min_interval_secs: u64,
    /// Longest time between two polls of one healthy feed, however quiet it is.
    pub max_interval_secs: u64,
    /// Longest wait after repeated errors (the wait doubles per consecutive error up to this).
    pub max_backoff_secs: u64,
    /// Random extra delay, as a percentage of the interval, so feeds do not poll in step.
    pub jitter_percent: u32,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            interval_secs: 900,
            min_interval_secs: 300,
            max_interval_secs: 86400,
            max_backoff_secs: 6 * 3600,
            jitter_percent: 10,
        }
    }
}

/// `[politeness]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct PolitenessConfig {
    /// Requests in flight at once to one host.
    pub per_host_concurrency: usize,
    /// Least time between the starts of two requests to one host.
    pub per_host_min_spacing_ms: u64,
    /// How long a host is left alone after a 429 or 503 that gave no Retry-After.
    pub throttle_secs: u64,
    /// Per-host overrides.
    pub hosts: Vec<HostOverride>,
}

impl Default for PolitenessConfig {
    fn default() -> Self {
        Self {
            per_host_concurrency: 2,
            per_host_min_spacing_ms: 500,
            throttle_secs: 60,
            hosts: Vec::new(),
        }
    }
}

/// `[normalize]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct NormalizeConfig {
    /// Query parameters removed from story URLs: exact names, or prefixes ending in `*`.
    pub tracking_params: Vec<String>,
    /// Regular expressions for boilerplate paragraphs of every source (matched against each
    /// paragraph; a match removes it).
    pub boilerplate: Vec<String>,
    /// Boilerplate patterns for one source.
    pub sources: Vec<SourceRules>,
    /// Store a sanitized copy of each item's HTML in `stories.body_html` (about a quarter of
    /// ingest throughput; off keeps the plain-text body only).
    pub keep_html: bool,
}

/// `normalize.tracking_params` by default: query parameters removed from story URLs (exact
/// names, or prefixes when they end in `*`).
pub const DEFAULT_TRACKING_PARAMS: &[&str] = &[
    "utm_*",
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "yclid",
    "twclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "ref_src",
    "cmpid",
    "ocid",
    "ito",
    "smid",
    "sr_share",
    "taid",
];

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self {
            tracking_params: DEFAULT_TRACKING_PARAMS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            boilerplate: Vec::new(),
            sources: Vec::new(),
            keep_html: true,
        }
    }
}

/// One `[[normalize.sources]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SourceRules {
    /// The source's name, as in `[[feeds]] source`.
    pub source: String,
    /// Regular expressions for this source's boilerplate paragraphs.
    pub boilerplate: Vec<String>,
}

/// One `[[politeness.hosts]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct HostOverride {
    /// The host name exactly as in feed URLs (`feeds.example.com`, `127.0.0.1`).
    pub host: String,
    /// Requests in flight at once to this host (default: `per_host_concurrency`).
    pub concurrency: Option<usize>,
    /// Least time between request starts (default: `per_host_min_spacing_ms`).
    pub min_spacing_ms: Option<u64>,
}

/// `[daemon]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct DaemonConfig {
    /// On SIGTERM/SIGINT, how long in-flight feed refreshes may take to finish before they are
    /// abandoned (an abandoned refresh writes nothing).
    pub shutdown_grace_secs: u64,
    /// How often the scheduler looks for due feeds when none is due sooner.
    pub tick_secs: u64,
    /// How long a claimed feed stays reserved for this daemon; a crashed daemon's feeds return to
    /// the others after this.
    pub lease_secs: u64,
    /// CPU time one document may take from parse to tags (article pages included); past it the
    /// refresh stops and the feed gets the error kind `over_budget`.
    pub document_budget_ms: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            shutdown_grace_secs: 20,
            tick_secs: 5,
            lease_secs: 300,
            document_budget_ms: 5000,
        }
    }
}

/// One `[[regions]]` entry and one `[[topics]]` entry: the tagger owns their shape.
pub use crate::tag::{Region as RegionConfig, TopicSpec as TopicConfig};

/// `[retention]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct RetentionConfig {
    /// Fetch-log lines older than this many days are deleted (0: keep the last 50 per feed).
    pub fetch_log_days: u64,
    /// Stories first seen more than this many days ago are deleted, with their versions and
    /// tags (0: keep every story).
    pub stories_days: u64,
}

/// `[admin]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct AdminConfig {
    /// Address of the admin HTTP listener (`/healthz`, `/readyz`, `/metrics`), e.g.
    /// `127.0.0.1:9464`; off when unset.
    pub listen: Option<String>,
}

/// `[dedup]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct DedupConfig {
    /// Stories published further apart than this are never the same story.
    pub window_hours: u64,
    /// Share of the shorter text's shingles that must be found in the longer one (0 to 1), when
    /// the shorter text's figures are also in the longer one.
    pub min_containment: f64,
    /// Share that is enough on its own, whatever the figures (an update that edits a figure).
    pub strong_containment: f64,
    /// Fewest shared shingles for any match: short texts need stronger evidence.
    pub min_shared: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            window_hours: 96,
            min_containment: 0.7,
            strong_containment: 0.85,
            min_shared: 8,
        }
    }
}

/// One `[[feeds]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct FeedConfig {
    /// The feed's address (http or https).
    pub url: String,
    /// The publisher's name, e.g. `Associated Press` or `The Washington Times`.
    pub source: String,
    /// True for a wire service's own feed (AP, Reuters, AFP, ...).
    #[serde(default)]
    pub wire: bool,
    /// Fetch each new item's article page and use its main text when it is better than the
    /// feed's summary (for feeds that carry only a teaser).
    #[serde(default)]
    pub full_text: bool,
}

/// The line (1-based) of `text` that gives `url` quoted, else the first that holds it at all.
pub fn line_of(text: &str, url: &str) -> Option<usize> {
    let quoted = [format!("\"{url}\""), format!("'{url}'")];
    let lines = || text.lines().enumerate();
    lines()
        .find(|(_, l)| quoted.iter().any(|q| l.contains(q.as_str())))
        .or_else(|| lines().find(|(_, l)| l.contains(url)))
        .map(|(i, _)| i + 1)
}

/// Everything wrong with a configuration, reported together.
#[derive(Debug, thiserror::Error)]
pub struct ConfigErrors {
    /// Where the configuration came from (a path, or "defaults").
    pub origin: String,
    /// One line per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} problem{}",
            self.origin,
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// The config's durations as [`Duration`]s, built once when a config is applied (the daemon's
/// start and each reload) rather than from integers where they are used. Values beyond the
/// validated range (a year; 100 years for retention) are capped, so a config built in code
/// without validation still yields representable instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// `fetch.timeout_secs`: a request's whole deadline, and the longest a refresh waits for a
    /// busy host.
    pub fetch_timeout: Duration,
    /// `fetch.connect_timeout_secs`.
    pub connect_timeout: Duration,
    /// `daemon.tick_secs`: the scheduler's longest sleep.
    pub tick: Duration,
    /// `daemon.lease_secs`: how long a claimed feed stays this daemon's.
    pub lease: Duration,
    /// `daemon.shutdown_grace_secs`.
    pub shutdown_grace: Duration,
    /// `daemon.document_budget_ms`.
    pub document_budget: Duration,
    /// `retention.fetch_log_days` (`None`: off).
    pub fetch_log_retention: Option<Duration>,
    /// `retention.stories_days` (`None`: off).
    pub story_retention: Option<Duration>,
}

impl Timings {
    /// `d` as a chrono duration, for arithmetic on instants. Every `Timings` value is capped well
    /// inside chrono's range, so this is exact for them; anything beyond saturates at 100 years.
    pub fn delta(d: Duration) -> chrono::Duration {
        chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(36_500))
    }

    /// The durations of `config`.
    pub fn of(config: &Config) -> Timings {
        let secs = |s: u64| Duration::from_secs(s.min(MAX_SECS));
        let days = |d: u64| (d > 0).then(|| Duration::from_secs(d.min(36_500) * 86_400));
        Timings {
            fetch_timeout: config.fetch.timeout(),
            connect_timeout: config.fetch.connect_timeout(),
            tick: secs(config.daemon.tick_secs),
            lease: secs(config.daemon.lease_secs),
            shutdown_grace: secs(config.daemon.shutdown_grace_secs),
            document_budget: Duration::from_millis(config.daemon.document_budget_ms.min(600_000)),
            fetch_log_retention: days(config.retention.fetch_log_days),
            story_retention: days(config.retention.stories_days),
        }
    }
}

impl FetchConfig {
    /// `timeout_secs` as a duration (capped at a year).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.min(MAX_SECS))
    }

    /// `connect_timeout_secs` as a duration (capped at a year).
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs.min(MAX_SECS))
    }
}

impl Config {
    /// Reads, parses and validates a file, then applies environment overrides.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            origin: origin.clone(),
            problems: vec![format!("cannot read the file: {e}")],
        })?;
        let mut config = Self::parse(&text, &origin)?;
        config.apply_env(|k| std::env::var(k).ok());
        config.validate(&origin)?;
        config.path = Some(path.to_owned());
        Ok(config)
    }

    /// The built-in defaults with environment overrides (used when no file is named).
    pub fn from_env() -> Result<Config, ConfigErrors> {
        let mut config = Config::default();
        config.apply_env(|k| std::env::var(k).ok());
        config.validate("defaults")?;
        Ok(config)
    }

    /// Parses TOML text. Unknown keys are errors, and all of them are reported at once.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        let mut unknown = Vec::new();
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigErrors {
            origin: origin.to_owned(),
            problems: vec![toml_problem(text, &e)],
        })?;
        let config: Config = serde_ignored::deserialize(de, |path| unknown.push(path.to_string()))
            .map_err(|e| ConfigErrors {
                origin: origin.to_owned(),
                problems: vec![toml_problem(text, &e)],
            })?;
        if unknown.is_empty() {
            Ok(config)
        } else {
            // Report the values' problems along with the typos.
            let mut problems: Vec<String> = unknown
                .into_iter()
                .map(|k| format!("unknown key `{k}`"))
                .collect();
            if let Err(e) = config.validate(origin) {
                problems.extend(e.problems);
            }
            Err(ConfigErrors {
                origin: origin.to_owned(),
                problems,
            })
        }
    }

    /// The line (1-based) of the config file that gives `url`: the first holding it quoted
    /// (`url = "..."`), else the first holding it at all. `None` without a file, or when the file
    /// cannot be read or does not name it.
    pub fn line_of(&self, url: &str) -> Option<usize> {
        let text = std::fs::read_to_string(self.path.as_ref()?).ok()?;
        line_of(&text, url)
    }

    /// Applies environment overrides; `get` is `std::env::var` in production, a map in tests.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        if let Some(url) = get("WIREFEED_DATABASE_URL").filter(|u| !u.is_empty()) {
            self.database.url = url;
        }
    }

    /// Checks every value; returns all problems together.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigErrors> {
        let mut p = Vec::new();
        if let Err(e) = crate::tag::Tagger::new(&self.regions, &self.topics) {
            p.push(format!("topics/regions: {e}"));
        }
        for (i, t) in self.topics.iter().enumerate() {
            if t.name.trim().is_empty() {
                p.push(format!("topics[{i}]: `name` must not be empty"));
            }
            if t.any.is_empty() {
                p.push(format!(
                    "topics[{i}] `{}`: `any` must list at least one word, phrase or re:PATTERN",
                    t.name
                ));
            }
        }
        for r in &self.regions {
            for c in r.members.iter().chain(&r.periphery) {
                if crate::tag::Code::parse(c).is_none() {
                    p.push(format!("regions `{}`: `{c}` is not an ISO 3166-1 alpha-2 code (two capital letters)", r.slug));
                }
            }
        }
        if let Some(l) = &self.admin.listen {
            if l.parse::<std::net::SocketAddr>().is_err() {
                p.push(format!(
                    "admin.listen: `{l}` is not an address such as 127.0.0.1:9464"
                ));
            }
        }
        for (name, v) in [
            ("fetch_log_days", self.retention.fetch_log_days),
            ("stories_days", self.retention.stories_days),
        ] {
            if v > 36_500 {
                p.push(format!(
                    "retention.{name}: at most 36500 days (0 turns it off)"
                ));
            }
        }
        let d = &self.dedup;
        if d.window_hours == 0 || d.window_hours > MAX_SECS / 3600 {
            p.push("dedup.window_hours: must be between 1 and 8784 (a year)".to_owned());
        }
        if !(d.min_containment > 0.0 && d.min_containment <= 1.0) {
            p.push("dedup.min_containment: must be above 0 and at most 1".to_owned());
        }
        if !(d.strong_containment >= d.min_containment && d.strong_containment <= 1.0) {
            p.push(
                "dedup.strong_containment: must be between dedup.min_containment and 1".to_owned(),
            );
        }
        if d.min_shared == 0 {
            p.push("dedup.min_shared: must be at least 1".to_owned());
        }
        let db = &self.database.url;
        if !(db.starts_with("postgres://")
            || db.starts_with("postgresql://")
            || db.starts_with("sqlite:"))
        {
            p.push(format!(
                "database.url: `{}` is neither postgres://… nor sqlite://PATH",
                redact_url(db)
            ));
        }
        if self.database.max_connections == 0 {
            p.push("database.max_connections: must be at least 1".to_owned());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            p.push(format!(
                "log.level: `{}` is not a valid filter",
                self.log.level
            ));
        }
        if self.log.summary_interval_secs > 86_400 {
            p.push("log.summary_interval_secs: at most 86400 (a day; 0 turns it off)".to_owned());
        }
        let f = &self.fetch;
        if f.user_agent.trim().is_empty() {
            p.push("fetch.user_agent: must not be empty".to_owned());
        }
        if f.timeout_secs == 0 {
            p.push("fetch.timeout_secs: must be at least 1".to_owned());
        }
        if f.connect_timeout_secs == 0 {
            p.push("fetch.connect_timeout_secs: must be at least 1".to_owned());
        }
        if f.max_redirects > 20 {
            p.push("fetch.max_redirects: at most 20".to_owned());
        }
        if f.max_body_bytes < 1024 {
            p.push("fetch.max_body_bytes: must be at least 1024".to_owned());
        }
        if f.max_items_per_feed == 0 {
            p.push("fetch.max_items_per_feed: must be at least 1".to_owned());
        }
        if f.concurrency == 0 {
            p.push("fetch.concurrency: must be at least 1".to_owned());
        }
        let s = &self.schedule;
        for (key, v) in [
            ("schedule.interval_secs", s.interval_secs),
            ("schedule.min_interval_secs", s.min_interval_secs),
            ("schedule.max_interval_secs", s.max_interval_secs),
            ("schedule.max_backoff_secs", s.max_backoff_secs),
            ("daemon.tick_secs", self.daemon.tick_secs),
            ("daemon.lease_secs", self.daemon.lease_secs),
            (
                "daemon.shutdown_grace_secs",
                self.daemon.shutdown_grace_secs.max(1),
            ),
            ("fetch.timeout_secs", f.timeout_secs.max(1)),
            ("fetch.connect_timeout_secs", f.connect_timeout_secs.max(1)),
            (
                "politeness.throttle_secs",
                self.politeness.throttle_secs.max(1),
            ),
        ] {
            if v == 0 {
                p.push(format!("{key}: must be at least 1"));
            } else if v > MAX_SECS {
                p.push(format!("{key}: {v} is more than a year"));
            }
        }
        if !(10..=600_000).contains(&self.daemon.document_budget_ms) {
            p.push(format!(
                "daemon.document_budget_ms: {} is outside 10..=600000",
                self.daemon.document_budget_ms
            ));
        }
        if !(s.min_interval_secs <= s.interval_secs && s.interval_secs <= s.max_interval_secs) {
            p.push(format!(
                "schedule: need min_interval_secs ({}) <= interval_secs ({}) <= max_interval_secs ({})",
                s.min_interval_secs, s.interval_secs, s.max_interval_secs
            ));
        }
        if s.max_backoff_secs < s.min_interval_secs {
            p.push(format!(
                "schedule.max_backoff_secs ({}) is shorter than schedule.min_interval_secs ({})",
                s.max_backoff_secs, s.min_interval_secs
            ));
        }
        if s.jitter_percent > 100 {
            p.push("schedule.jitter_percent: at most 100".to_owned());
        }
        if self.daemon.lease_secs <= f.timeout_secs {
            p.push(format!(
                "daemon.lease_secs ({}) must be longer than fetch.timeout_secs ({})",
                self.daemon.lease_secs, f.timeout_secs
            ));
        }
        let pol = &self.politeness;
        if pol.per_host_concurrency == 0 {
            p.push("politeness.per_host_concurrency: must be at least 1".to_owned());
        }
        if pol.per_host_min_spacing_ms > MAX_SECS * 1000 {
            p.push("politeness.per_host_min_spacing_ms: more than a year".to_owned());
        }
        for (i, h) in pol.hosts.iter().enumerate() {
            if h.host.trim().is_empty() || h.host.contains('/') {
                p.push(format!(
                    "politeness.hosts[{i}].host: `{}` is not a host name",
                    h.host
                ));
            }
            if h.concurrency == Some(0) {
                p.push(format!(
                    "politeness.hosts[{i}].concurrency: must be at least 1"
                ));
            }
            if h.min_spacing_ms.is_some_and(|m| m > MAX_SECS * 1000) {
                p.push(format!(
                    "politeness.hosts[{i}].min_spacing_ms: more than a year"
                ));
            }
        }
        let n = &self.normalize;
        let patterns = n
            .boilerplate
            .iter()
            .map(|p| ("normalize.boilerplate".to_owned(), p));
        let per_source = n.sources.iter().enumerate().flat_map(|(i, s)| {
            s.boilerplate
                .iter()
                .map(move |p| (format!("normalize.sources[{i}].boilerplate"), p))
        });
        for (key, pattern) in patterns.chain(per_source) {
            if let Err(e) = regex::Regex::new(pattern) {
                p.push(format!(
                    "{key}: `{pattern}` is not a valid regular expression ({e})"
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            let at = format!("feeds[{i}]");
            match url::Url::parse(&feed.url) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
                Ok(u) => p.push(format!(
                    "{at}.url: scheme `{}` is not http or https",
                    u.scheme()
                )),
                Err(e) => p.push(format!("{at}.url: `{}` is not a URL ({e})", feed.url)),
            }
            if feed.source.trim().is_empty() {
                p.push(format!("{at}.source: must name the publisher"));
            }
            if !seen.insert(feed.url.as_str()) {
                p.push(format!("{at}.url: `{}` is listed twice", feed.url));
            }
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors {
                origin: origin.to_owned(),
                problems: p,
            })
        }
    }
}

/// A TOML error as one line: "line L: message".
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_owned();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feeds_line_is_found_by_its_quoted_url() {
        let text = "# mirrors https://a.example/rss too\n[[feeds]]\nurl = \"https://a.example/rss\"\n\n[[feeds]]\nurl = 'https://b.example/rss'\n# https://c.example/rss\n";
        assert_eq!(line_of(text, "https://a.example/rss"), Some(3));
        assert_eq!(line_of(text, "https://b.example/rss"), Some(6));
        // Not quoted anywhere: the first line that holds it.
        assert_eq!(line_of(text, "https://c.example/rss"), Some(7));
        assert_eq!(line_of(text, "https://d.example/rss"), None);
        // A prefix of a longer URL never matches a quoted one: the first line holding it.
        assert_eq!(line_of(text, "https://a.example/r"), Some(1));
    }

    #[test]
    fn shipped_config_parses_and_keeps_the_documented_defaults() {
        let text = include_str!("../config/wirefeed.toml");
        let shipped = Config::parse(text, "config/wirefeed.toml").expect("shipped config parses");
        shipped
            .validate("config/wirefeed.toml")
            .expect("shipped config is valid");
        let defaults = Config::default();
        // Every section except the feed list must equal the built-in defaults, so the file documents
        // them truthfully.
        assert_eq!(shipped.database, defaults.database);
        assert_eq!(shipped.log, defaults.log);
        assert_eq!(shipped.schedule, defaults.schedule);
        assert_eq!(shipped.normalize, defaults.normalize);
        assert_eq!(
            shipped.politeness.per_host_concurrency,
            defaults.politeness.per_host_concurrency
        );
        assert_eq!(
            shipped.politeness.per_host_min_spacing_ms,
            defaults.politeness.per_host_min_spacing_ms
        );
        assert_eq!(
            shipped.politeness.throttle_secs,
            defaults.politeness.throttle_secs
        );
        assert_eq!(shipped.daemon, defaults.daemon);
        let mut fetch = shipped.fetch.clone();
        // The shipped file spells out the user agent with the current version.
        assert_eq!(fetch.user_agent, default_user_agent());
        fetch.user_agent = defaults.fetch.user_agent.clone();
        assert_eq!(fetch, defaults.fetch);
        assert!(shipped.feeds.len() >= 3, "ships a handful of real feeds");
    }

    #[test]
    fn every_unknown_key_is_reported() {
        let err = Config::parse(
            "[fetch]\ntimeout_sec = 3\n[databse]\nurl = \"x\"\n[[feeds]]\nurl = \"http://a/\"\nsource = \"A\"\nwier = true\n",
            "t",
        )
        .expect_err("typos are errors");
        let all = err.problems.join("\n");
        assert!(all.contains("fetch.timeout_sec"), "{all}");
        assert!(all.contains("databse"), "{all}");
        assert!(all.contains("wier"), "{all}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Config::parse("[fetch]\ntimeout_secs = = 3\n", "t").expect_err("bad toml");
        assert!(err.problems[0].starts_with("line 2"), "{:?}", err.problems);
    }

    #[test]
    fn validation_reports_all_problems_together() {
        let c = Config::parse(
            "[database]\nurl = \"mysql://x\"\n[fetch]\ntimeout_secs = 0\nconcurrency = 0\n[[feeds]]\nurl = \"ftp://x/\"\nsource = \"\"\n",
            "t",
        )
        .expect("parses");
        let err = c.validate("t").expect_err("invalid");
        assert_eq!(err.problems.len(), 5, "{:?}", err.problems);
        let c = Config::parse(
            "[schedule]\ninterval_secs = 99999999999999\nmax_backoff_secs = 1\n",
            "t",
        )
        .expect("parses");
        let err = c.validate("t").expect_err("invalid");
        let all = err.problems.join("\n");
        assert!(all.contains("more than a year"), "{all}");
        assert!(all.contains("max_backoff_secs"), "{all}");
    }

    #[test]
    fn env_overrides_database_url() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "WIREFEED_DATABASE_URL").then(|| "postgres://h/db".to_owned()));
        assert_eq!(c.database.url, "postgres://h/db");
        c.apply_env(|_| Some(String::new()));
        assert_eq!(c.database.url, "postgres://h/db", "empty value is ignored");
    }

    #[test]
    fn database_password_never_prints() {
        let c = DatabaseConfig {
            url: "postgres://u:secret@h/db".to_owned(),
            max_connections: 1,
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
