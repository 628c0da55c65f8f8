//! The configuration file: its types, their defaults, and validation.
//!
//! Owns the one place where defaults live (`Default` impls below, mirrored by the shipped
//! `config/wirefeed.toml`, which a test keeps in step). Every problem in a file is reported together,
//! each with its key path and line: `read` lists the syntax, type, structure and unknown-key problems
//! and yields what deserialized, then its values are checked one by one (`Config::problems`).
//!
//! Environment variables read here: `WIREFEED_DATABASE_URL` (overrides `database.url`). The CLI reads
//! `WIREFEED_CONFIG` to find the file. This module never touches the network or the database.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod read;

use read::{KeyPath, Problem};

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
    /// Reads, parses and validates a file, with environment overrides applied. Every problem of
    /// the file is reported together.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            origin: origin.clone(),
            problems: vec![format!("cannot read the file: {e}")],
        })?;
        let mut config = Self::check_text(&text, &origin, |k| std::env::var(k).ok())?;
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

    /// Parses and validates TOML text (no environment overrides). Every problem is reported at
    /// once: syntax errors and duplicate keys, values of the wrong type, missing keys, unknown
    /// keys and enum values, then the values' own problems, each with its key path and line.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        Self::check_text(text, origin, |_| None)
    }

    /// [`Config::parse`] with the environment overrides `get` gives applied before validation.
    fn check_text(
        text: &str,
        origin: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let read = read::read(text);
        let mut problems = read.problems;
        let mut valid = None;
        if let Some(mut config) = read.config {
            let file_url = config.database.url.clone();
            config.apply_env(get);
            let from_env = (config.database.url != file_url).then_some("WIREFEED_DATABASE_URL");
            for mut p in config.problems() {
                if p.path == "database.url" && from_env.is_some() {
                    p.path = format!("database.url (from {})", from_env.unwrap_or_default());
                } else {
                    // The config's indices skip entries left out: name the file's.
                    let path = read.locator.in_file(&KeyPath::parse(&p.path));
                    p.line = read.locator.line(&path);
                    p.path = path.to_string();
                }
                problems.push(p);
            }
            valid = Some(config);
        }
        match valid {
            Some(config) if problems.is_empty() => Ok(config),
            _ => {
                // By line; problems without one (values from the defaults) last, in check order.
                problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
                Err(ConfigErrors {
                    origin: origin.to_owned(),
                    problems: problems.iter().map(ToString::to_string).collect(),
                })
            }
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
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors {
                origin: origin.to_owned(),
                problems: problems.iter().map(ToString::to_string).collect(),
            })
        }
    }

    /// Every value's problem, each with the key path it is about (as this config numbers its
    /// entries).
    fn problems(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        self.tagging_problems(&mut p);
        if let Some(l) = &self.admin.listen {
            if let Err(e) = l.parse::<ListenAddr>() {
                p.push(Problem::at("admin.listen", e));
            }
        }
        for (name, v) in [
            ("retention.fetch_log_days", self.retention.fetch_log_days),
            ("retention.stories_days", self.retention.stories_days),
        ] {
            if v > 36_500 {
                p.push(Problem::at(name, "at most 36500 days (0 turns it off)"));
            }
        }
        let d = &self.dedup;
        if d.window_hours == 0 || d.window_hours > MAX_SECS / 3600 {
            p.push(Problem::at(
                "dedup.window_hours",
                "must be between 1 and 8784 (a year)",
            ));
        }
        if !(d.min_containment > 0.0 && d.min_containment <= 1.0) {
            p.push(Problem::at(
                "dedup.min_containment",
                "must be above 0 and at most 1",
            ));
        }
        if !(d.strong_containment >= d.min_containment && d.strong_containment <= 1.0) {
            p.push(Problem::at(
                "dedup.strong_containment",
                "must be between dedup.min_containment and 1",
            ));
        }
        if d.min_shared == 0 {
            p.push(Problem::at("dedup.min_shared", "must be at least 1"));
        }
        let db = &self.database.url;
        if !(db.starts_with("postgres://")
            || db.starts_with("postgresql://")
            || db.starts_with("sqlite:"))
        {
            p.push(Problem::at(
                "database.url",
                format!(
                    "`{}` is neither postgres://… nor sqlite://PATH",
                    redact_url(db)
                ),
            ));
        }
        if self.database.max_connections == 0 {
            p.push(Problem::at(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        if self.log.summary_interval_secs > 86_400 {
            p.push(Problem::at(
                "log.summary_interval_secs",
                "at most 86400 (a day; 0 turns it off)",
            ));
        }
        if let Err(e) = log_filter(&self.log.level) {
            p.push(Problem::at("log.level", e));
        }
        let f = &self.fetch;
        if f.user_agent.trim().is_empty() {
            p.push(Problem::at("fetch.user_agent", "must not be empty"));
        }
        if f.timeout_secs == 0 {
            p.push(Problem::at("fetch.timeout_secs", "must be at least 1"));
        }
        if f.connect_timeout_secs == 0 {
            p.push(Problem::at(
                "fetch.connect_timeout_secs",
                "must be at least 1",
            ));
        }
        if f.max_redirects > 20 {
            p.push(Problem::at("fetch.max_redirects", "at most 20"));
        }
        if f.max_body_bytes < 1024 {
            p.push(Problem::at("fetch.max_body_bytes", "must be at least 1024"));
        }
        if f.max_items_per_feed == 0 {
            p.push(Problem::at(
                "fetch.max_items_per_feed",
                "must be at least 1",
            ));
        }
        if f.concurrency == 0 {
            p.push(Problem::at("fetch.concurrency", "must be at least 1"));
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
                p.push(Problem::at(key, "must be at least 1"));
            } else if v > MAX_SECS {
                p.push(Problem::at(key, format!("{v} is more than a year")));
            }
        }
        if !(10..=600_000).contains(&self.daemon.document_budget_ms) {
            p.push(Problem::at(
                "daemon.document_budget_ms",
                format!("{} is outside 10..=600000", self.daemon.document_budget_ms),
            ));
        }
        if !(s.min_interval_secs <= s.interval_secs && s.interval_secs <= s.max_interval_secs) {
            p.push(Problem::at(
                "schedule",
                format!(
                    "need min_interval_secs ({}) <= interval_secs ({}) <= max_interval_secs ({})",
                    s.min_interval_secs, s.interval_secs, s.max_interval_secs
                ),
            ));
        }
        if s.max_backoff_secs < s.min_interval_secs {
            p.push(Problem::at(
                "schedule.max_backoff_secs",
                format!(
                    "{} is shorter than schedule.min_interval_secs ({})",
                    s.max_backoff_secs, s.min_interval_secs
                ),
            ));
        }
        if s.jitter_percent > 100 {
            p.push(Problem::at("schedule.jitter_percent", "at most 100"));
        }
        if self.daemon.lease_secs <= f.timeout_secs {
            p.push(Problem::at(
                "daemon.lease_secs",
                format!(
                    "{} must be longer than fetch.timeout_secs ({})",
                    self.daemon.lease_secs, f.timeout_secs
                ),
            ));
        }
        let pol = &self.politeness;
        if pol.per_host_concurrency == 0 {
            p.push(Problem::at(
                "politeness.per_host_concurrency",
                "must be at least 1",
            ));
        }
        if pol.per_host_min_spacing_ms > MAX_SECS * 1000 {
            p.push(Problem::at(
                "politeness.per_host_min_spacing_ms",
                "more than a year",
            ));
        }
        for (i, h) in pol.hosts.iter().enumerate() {
            if h.host.trim().is_empty() || h.host.contains('/') {
                p.push(Problem::at(
                    format!("politeness.hosts[{i}].host"),
                    format!("`{}` is not a host name", h.host),
                ));
            }
            if h.concurrency == Some(0) {
                p.push(Problem::at(
                    format!("politeness.hosts[{i}].concurrency"),
                    "must be at least 1",
                ));
            }
            if h.min_spacing_ms.is_some_and(|m| m > MAX_SECS * 1000) {
                p.push(Problem::at(
                    format!("politeness.hosts[{i}].min_spacing_ms"),
                    "more than a year",
                ));
            }
        }
        let n = &self.normalize;
        let patterns = n
            .boilerplate
            .iter()
            .enumerate()
            .map(|(j, p)| (format!("normalize.boilerplate[{j}]"), p));
        let per_source = n.sources.iter().enumerate().flat_map(|(i, s)| {
            s.boilerplate
                .iter()
                .enumerate()
                .map(move |(j, p)| (format!("normalize.sources[{i}].boilerplate[{j}]"), p))
        });
        for (key, pattern) in patterns.chain(per_source) {
            if let Err(e) = regex::Regex::new(pattern) {
                p.push(Problem::at(key, regex_problem(pattern, &e)));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            if let Err(e) = feed_url(&feed.url) {
                p.push(Problem::at(format!("feeds[{i}].url"), e));
            }
            if feed.source.trim().is_empty() {
                p.push(Problem::at(
                    format!("feeds[{i}].source"),
                    "must name the publisher",
                ));
            }
            if !seen.insert(feed.url.as_str()) {
                p.push(Problem::at(
                    format!("feeds[{i}].url"),
                    format!("`{}` is listed twice", feed.url),
                ));
            }
        }
        p
    }

    /// The problems of `[[regions]]` and `[[topics]]`: what the tagger refuses, region members
    /// that are not countries it knows, references to regions that do not exist, empty topics.
    fn tagging_problems(&self, p: &mut Vec<Problem>) {
        for (i, t) in self.topics.iter().enumerate() {
            if t.name.trim().is_empty() {
                p.push(Problem::at(
                    format!("topics[{i}].name"),
                    "must not be empty",
                ));
            }
            if t.any.is_empty() {
                p.push(Problem::at(
                    format!("topics[{i}].any"),
                    format!(
                        "topic `{}`: must list at least one word, phrase or re:PATTERN",
                        t.name
                    ),
                ));
            }
        }
        // Each `re:` pattern on its own, so every bad one is named (the tagger stops at the
        // first); a plain word or phrase always compiles.
        let mut bad_pattern = false;
        for (i, t) in self.topics.iter().enumerate() {
            for (field, list) in [("any", &t.any), ("all", &t.all), ("none", &t.none)] {
                for (j, pattern) in list.iter().enumerate() {
                    if let Some(Err(e)) = pattern.strip_prefix("re:").map(regex::Regex::new) {
                        bad_pattern = true;
                        p.push(Problem::at(
                            format!("topics[{i}].{field}[{j}]"),
                            regex_problem(pattern, &e),
                        ));
                    }
                }
            }
        }
        // The tagger the daemon will build; when it cannot be built, one without the topics
        // tells whether the regions or the topics are at fault, and checks the regions.
        let topics: &[TopicConfig] = if bad_pattern { &[] } else { &self.topics };
        let tagger = match crate::tag::Tagger::new(&self.regions, topics) {
            Ok(t) => t,
            Err(e) => match crate::tag::Tagger::new(&self.regions, &[]) {
                Ok(t) => {
                    p.push(Problem::at("topics", e.to_string()));
                    t
                }
                Err(e) => {
                    p.push(Problem::at("regions", e.to_string()));
                    return;
                }
            },
        };
        for (i, field, message) in tagger.config_region_problems(&self.regions) {
            p.push(Problem::at(format!("regions[{i}].{field}"), message));
        }
    }
}

/// A pattern that does not compile, in one line (the regex crate draws the pattern over several).
fn regex_problem(pattern: &str, e: &regex::Error) -> String {
    let why = match e {
        regex::Error::Syntax(s) => s
            .lines()
            .last()
            .map_or(s.as_str(), |l| l.trim().trim_start_matches("error: "))
            .to_owned(),
        other => other.to_string(),
    };
    format!("`{pattern}` is not a valid regular expression ({why})")
}

/// Checks a feed's address: an absolute http or https URL with a host.
fn feed_url(raw: &str) -> Result<(), String> {
    match url::Url::parse(raw) {
        Err(e) => Err(format!("`{raw}` is not a URL ({e})")),
        Ok(u) if u.scheme() != "http" && u.scheme() != "https" => Err(format!(
            "`{raw}`: scheme `{}` is not http or https",
            u.scheme()
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => Err(format!("`{raw}` names no host")),
        Ok(_) => Ok(()),
    }
}

/// The levels a `log.level` directive may set.
const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// Checks `log.level` and builds its filter. Stricter than [`EnvFilter`]'s own parser, which
/// takes any bare word for a target name (`infoo` would mean "everything from a module named
/// infoo", silencing every other line): each comma-separated directive must be a level or
/// `TARGET=LEVEL` (a target may carry a `[span{field=value}]` filter), with a level from
/// trace, debug, info, warn, error, off.
///
/// [`EnvFilter`]: tracing_subscriber::EnvFilter
pub fn log_filter(level: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    if level.trim().is_empty() {
        return Err("must name a level: trace, debug, info, warn, error or off".to_owned());
    }
    for directive in level.split(',').map(str::trim) {
        if directive.is_empty() {
            return Err(format!("`{level}` has an empty directive (a stray comma)"));
        }
        // The level follows the last `=` outside a span filter's brackets.
        let mut depth = 0i32;
        let mut eq = None;
        for (i, c) in directive.char_indices() {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                '=' if depth == 0 => eq = Some(i),
                _ => {}
            }
        }
        let (target, lvl) = match eq {
            Some(i) => (&directive[..i], &directive[i + 1..]),
            None => ("", directive),
        };
        if !LOG_LEVELS
            .iter()
            .any(|l| l.eq_ignore_ascii_case(lvl.trim()))
        {
            return Err(if eq.is_none() {
                format!(
                    "`{directive}` is not a level (trace, debug, info, warn, error, off) nor \
                     TARGET=LEVEL"
                )
            } else {
                format!(
                    "`{directive}`: `{lvl}` is not a level (trace, debug, info, warn, error, off)"
                )
            });
        }
        if eq.is_some() && target.trim().is_empty() {
            return Err(format!("`{directive}` names no target before `=`"));
        }
    }
    tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| format!("`{level}` is not a valid filter ({e})"))
}

/// An `admin.listen` address: `host:port` with a host name, an IPv4 address or a bracketed IPv6
/// address (`localhost:9464`, `0.0.0.0:9464`, `[::1]:9464`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    /// The host: a name (resolved when the listener binds) or an address.
    pub host: url::Host<String>,
    /// The port, 1 to 65535.
    pub port: u16,
}

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<ListenAddr, String> {
        let example = "use HOST:PORT such as 127.0.0.1:9464, localhost:9464 or [::1]:9464";
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(format!("`{s}` has no port; {example}"));
        };
        if host.is_empty() {
            return Err(format!("`{s}` has no host; {example}"));
        }
        if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
            return Err(format!(
                "`{s}`: an IPv6 address goes in brackets, as in [::1]:9464"
            ));
        }
        let host = url::Host::parse(host)
            .map_err(|e| format!("`{s}`: `{host}` is not a host name or address ({e})"))?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{s}`: the port `{port}` is not a number; {example}"
            ));
        }
        match port.parse::<u16>() {
            Ok(0) => Err(format!(
                "`{s}`: port 0 would be a different random port at each start; name one"
            )),
            Ok(port) => Ok(ListenAddr { host, port }),
            Err(_) => Err(format!("`{s}`: the port {port} is not within 1..=65535")),
        }
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // url::Host displays an IPv6 address in brackets.
        write!(f, "{}:{}", self.host, self.port)
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
        assert_eq!(err.problems.len(), 1, "{:?}", err.problems);
        assert!(
            err.problems[0].starts_with("line 2: syntax: "),
            "{:?}",
            err.problems
        );
    }

    #[test]
    fn validation_reports_all_problems_together() {
        let err = Config::parse(
            "[database]\nurl = \"mysql://x\"\n[fetch]\ntimeout_secs = 0\nconcurrency = 0\n[[feeds]]\nurl = \"ftp://x/\"\nsource = \"\"\n",
            "t",
        )
        .expect_err("invalid");
        assert_eq!(
            err.problems,
            [
                "line 2: database.url: `mysql://x` is neither postgres://… nor sqlite://PATH",
                "line 4: fetch.timeout_secs: must be at least 1",
                "line 5: fetch.concurrency: must be at least 1",
                "line 7: feeds[0].url: `ftp://x/`: scheme `ftp` is not http or https",
                "line 8: feeds[0].source: must name the publisher",
            ]
        );
        let err = Config::parse(
            "[schedule]\ninterval_secs = 99999999999999\nmax_backoff_secs = 1\n",
            "t",
        )
        .expect_err("invalid");
        let all = err.problems.join("\n");
        assert!(all.contains("more than a year"), "{all}");
        assert!(all.contains("max_backoff_secs"), "{all}");
    }

    /// A file with one of every kind of problem: each is reported, in one run, with its key
    /// path and line, in line order.
    const MANY_PROBLEMS: &str = r#"[log]
level = "infoo"
format = "yaml"
[fetch]
timeout_secs = "thirty"
concurency = 4
max_redirects = 99
[admin]
listen = "localhost:99999"
[[regions]]
slug = "adriatic"
members = ["HR", "QQ", "it"]
parent = "southern_urope"
contains = ["western_balkans", "nowhere"]
[[feeds]]
url = "https://a.example/rss"
source = "A"
[[feeds]]
url = "https://b.example/rss"
[[feeds]]
url = "www.c.example/rss"
source = "C"
[[feeds]]
url = "https://d.example/rss"
source = "D"
wire = "yes"
[[feeds]]
url = "https://e.example/rss"
source = ""
"#;

    #[test]
    fn every_kind_of_problem_is_reported_in_one_run() {
        let err = Config::parse(MANY_PROBLEMS, "t").expect_err("invalid");
        let want = [
            "line 2: log.level: `infoo` is not a level (trace, debug, info, warn, error, off) nor TARGET=LEVEL",
            "line 3: log.format: unknown variant `yaml`, expected `text` or `json`",
            "line 5: fetch.timeout_secs: invalid type: string \"thirty\", expected u64",
            "line 6: fetch.concurency: unknown key",
            "line 7: fetch.max_redirects: at most 20",
            "line 9: admin.listen: `localhost:99999`: the port 99999 is not within 1..=65535",
            "line 12: regions[0].members: region `adriatic`: `QQ` is not a country code the tagger knows",
            "line 12: regions[0].members: region `adriatic`: `it` is not an ISO 3166-1 alpha-2 code (two capital letters, XK for Kosovo)",
            "line 13: regions[0].parent: region `adriatic`: `southern_urope` is not a region (`wirefeed regions` lists them)",
            "line 14: regions[0].contains: region `adriatic`: `nowhere` is not a region (`wirefeed regions` lists them)",
            "line 18: feeds[1]: missing field `source`; the entry is left out of the rest of the check",
            "line 21: feeds[2].url: `www.c.example/rss` is not a URL (relative URL without a base)",
            "line 26: feeds[3].wire: invalid type: string \"yes\", expected a boolean",
            "line 29: feeds[4].source: must name the publisher",
        ];
        assert_eq!(err.problems.len(), want.len(), "{:#?}", err.problems);
        for (got, want) in err.problems.iter().zip(want) {
            assert!(got.starts_with(want), "want {want}\n got {got}");
        }
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_are_reported_with_the_other_problems() {
        let text = "[fetch]\ntimeout_secs = = 3\nconcurrency = 0\nmax_redirects = 2\nmax_redirects = 3\n[[feeds]]\nurl = \"https://a.example/\"\nsource = \"A\n[daemon]\ntick_secs = -1\n[daemon]\nlease_secs = 600\n";
        let err = Config::parse(text, "t").expect_err("invalid");
        let want = [
            "line 2: syntax: ",
            "line 3: fetch.concurrency: must be at least 1",
            "line 5: syntax: duplicate key `max_redirects` (the first one is used)",
            "line 8: syntax: ",
            "line 10: daemon.tick_secs: invalid value: integer `-1`, expected u64",
            "line 11: syntax: duplicate key `daemon`",
        ];
        assert_eq!(err.problems.len(), want.len(), "{:#?}", err.problems);
        for (got, want) in err.problems.iter().zip(want) {
            assert!(got.starts_with(want), "want {want}\n got {got}");
        }
        // The unterminated string's line is a syntax error, not also a missing `source`, and the
        // value the parser made up for `timeout_secs = = 3` is not reported as a wrong value.
    }

    #[test]
    fn entries_left_out_do_not_shift_the_indices_of_later_ones() {
        let text = "[[feeds]]\nurl = 3\nsource = \"A\"\n[[feeds]]\nurl = \"https://b2.example/\"\nwire = 2\n[[feeds]]\nsource = \"B\"\n[[feeds]]\nurl = \"https://c.example/\"\nsource = \"C\"\n[[feeds]]\nurl = \"ftp://d/\"\nsource = \"D\"\n[[politeness.hosts]]\nhost = \"a/b\"\nconcurrency = \"two\"\n[[politeness.hosts]]\nhost = \"x\"\nconcurrency = 0\n";
        let err = Config::parse(text, "t").expect_err("invalid");
        assert_eq!(
            err.problems,
            [
                // The wrong-typed url is reported once, not again as a missing field.
                "line 2: feeds[0].url: invalid type: integer `3`, expected a string",
                // A wrong value does not hide a missing key of the same entry.
                "line 4: feeds[1]: missing field `source`; the entry is left out of the rest of the check",
                "line 6: feeds[1].wire: invalid type: integer `2`, expected a boolean",
                "line 7: feeds[2]: missing field `url`; the entry is left out of the rest of the check",
                "line 13: feeds[4].url: `ftp://d/`: scheme `ftp` is not http or https",
                "line 16: politeness.hosts[0].host: `a/b` is not a host name",
                "line 17: politeness.hosts[0].concurrency: invalid type: string \"two\", expected usize",
                "line 20: politeness.hosts[1].concurrency: must be at least 1",
            ],
        );
    }

    #[test]
    fn a_file_with_hundreds_of_wrong_values_stops_after_a_bound() {
        let mut text = String::new();
        for i in 0..250 {
            text.push_str(&format!(
                "[[feeds]]\nurl = \"https://{i}.example/\"\nsource = \"S\"\nwire = {i}\n"
            ));
        }
        let err = Config::parse(&text, "t").expect_err("invalid");
        assert_eq!(err.problems.len(), 201, "{:?}", err.problems.last());
        assert_eq!(
            err.problems[199],
            "line 800: feeds[199].wire: invalid type: integer `199`, expected a boolean"
        );
        assert!(err.problems[200].starts_with("stopped after 200 problems"));
    }

    #[test]
    fn a_file_that_is_not_toml_is_refused_in_bounded_words() {
        let junk: String = (0..500)
            .map(|i| format!("<p>line {i} = = </p>\n"))
            .collect();
        let err = Config::parse(&junk, "t").expect_err("not TOML");
        assert_eq!(err.problems.len(), 201, "{:?}", err.problems.last());
        assert!(
            err.problems[0].starts_with("line 1: syntax: "),
            "{}",
            err.problems[0]
        );
        assert_eq!(
            err.problems[200],
            "and 300 more lines with syntax errors (is this a TOML file?)"
        );
        // Sections of the wrong shape are set aside like any other wrong value.
        let err = Config::parse("log = \"debug\"\nfeeds = 3\n[admin]\nlisten = 9464\n", "t")
            .expect_err("wrong shapes");
        assert_eq!(
            err.problems,
            [
                "line 1: log: invalid type: string \"debug\", expected struct LogConfig",
                "line 2: feeds: invalid type: integer `3`, expected a sequence",
                "line 4: admin.listen: invalid type: integer `9464`, expected a string",
            ]
        );
        Config::parse("", "t").expect("an empty file is the defaults");
    }

    #[test]
    fn problems_of_values_from_the_environment_say_so() {
        let err = Config::check_text("[database]\nurl = \"sqlite://x.db\"\n", "t", |k| {
            (k == "WIREFEED_DATABASE_URL").then(|| "mysql://h/db".to_owned())
        })
        .expect_err("invalid");
        assert_eq!(
            err.problems,
            ["database.url (from WIREFEED_DATABASE_URL): `mysql://h/db` is neither postgres://… nor sqlite://PATH"]
        );
    }

    #[test]
    fn a_problem_without_a_place_in_the_file_comes_last() {
        // `lease_secs` keeps its default (300) and `timeout_secs` is set past it.
        let err = Config::parse("[fetch]\ntimeout_secs = 400\nmax_redirects = 50\n", "t")
            .expect_err("invalid");
        assert_eq!(
            err.problems,
            [
                "line 3: fetch.max_redirects: at most 20",
                "daemon.lease_secs: 300 must be longer than fetch.timeout_secs (400)",
            ]
        );
    }

    #[test]
    fn log_levels_are_levels_or_target_level_pairs() {
        for ok in [
            "info",
            "WARN",
            "off",
            "warn,wirefeed=debug",
            "wirefeed::fetch=trace,sqlx=warn",
            "wirefeed[refresh{feed=3}]=debug",
        ] {
            assert!(log_filter(ok).is_ok(), "{ok}: {:?}", log_filter(ok).err());
            // What logging initialisation builds from it (cli::init_logging adds a directive).
            assert!(
                tracing_subscriber::EnvFilter::try_new(format!("{ok},html5ever=error")).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "",
            "infoo",
            "wirefeed",
            "info,",
            "info,,warn",
            "wirefeed=loud",
            "=info",
            "5",
            "wirefeed=",
            "info, sqlx=warn",
        ] {
            assert!(log_filter(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn listen_addresses_take_host_names_and_both_ip_versions() {
        for (ok, host, port) in [
            ("localhost:9464", "localhost", 9464),
            ("127.0.0.1:9464", "127.0.0.1", 9464),
            ("0.0.0.0:1", "0.0.0.0", 1),
            ("[::1]:9464", "[::1]", 9464),
            (
                "metrics.internal.example:65535",
                "metrics.internal.example",
                65535,
            ),
        ] {
            let a: ListenAddr = ok.parse().unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!((a.host.to_string().as_str(), a.port), (host, port));
            assert_eq!(a.to_string(), ok);
        }
        for (bad, why) in [
            ("localhost", "has no port"),
            (":9464", "has no host"),
            ("localhost:", "is not a number"),
            ("localhost:http", "is not a number"),
            ("localhost:65536", "not within 1..=65535"),
            ("localhost:-1", "is not a number"),
            ("localhost:0", "port 0"),
            ("::1:9464", "brackets"),
            ("[::1:9464", "brackets"),
            ("bad host:9464", "not a host name"),
            ("300.1.1.1:9464", "not a host name"),
            ("[nope]:9464", "not a host name"),
        ] {
            let e = bad.parse::<ListenAddr>().expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        let c = Config::parse("[admin]\nlisten = \"localhost:9464\"\n", "t").expect("valid");
        assert_eq!(c.admin.listen.as_deref(), Some("localhost:9464"));
    }

    #[test]
    fn feed_urls_are_absolute_http_with_a_host() {
        for ok in ["https://a.example/rss", "http://127.0.0.1:8080/feed.xml"] {
            assert_eq!(feed_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("a.example/rss", "not a URL"),
            ("/rss", "not a URL"),
            ("https://", "not a URL"),
            ("ftp://a.example/", "scheme `ftp`"),
            ("file:///etc/passwd", "scheme `file`"),
            ("", "not a URL"),
        ] {
            let e = feed_url(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn every_bad_pattern_is_named_on_one_line() {
        let err = Config::parse(
            "[normalize]\nboilerplate = [\"ok\", \"(unclosed\"]\n[[topics]]\nname = \"t\"\nany = [\"a (phrase\", \"re:[z-a]\"]\nnone = [\"re:(\"]\n[[topics]]\nname = \"\"\nany = []\n",
            "t",
        )
        .expect_err("invalid");
        assert_eq!(
            err.problems,
            [
                "line 2: normalize.boilerplate[1]: `(unclosed` is not a valid regular expression (unclosed group)",
                "line 5: topics[0].any[1]: `re:[z-a]` is not a valid regular expression (invalid character class range, the start must be <= the end)",
                "line 6: topics[0].none[0]: `re:(` is not a valid regular expression (unclosed group)",
                "line 8: topics[1].name: must not be empty",
                "line 9: topics[1].any: topic ``: must list at least one word, phrase or re:PATTERN",
            ]
        );
    }

    #[test]
    fn regions_may_refer_to_shipped_regions_and_groupings() {
        let text = "[[regions]]\nslug = \"adriatic\"\nmembers = [\"HR\", \"SI\", \"XK\"]\nperiphery = [\"IT\"]\nparent = \"southern_europe\"\n[[regions]]\nslug = \"danube\"\nmembers = [\"AT\"]\ncontains = [\"adriatic\", \"western_balkans\"]\n[[regions]]\nslug = \"gulf\"\nmembers = [\"SA\", \"AE\"]\nparent = \"middle_east\"\n";
        Config::parse(text, "t").expect("valid");
        let err = Config::parse(
            "[[regions]]\nslug = \"a\"\nparent = \"b\"\n[[regions]]\nslug = \"b\"\nparent = \"a\"\n[[regions]]\nslug = \"c\"\ncontains = [\"c\"]\n[[regions]]\nslug = \"c\"\n",
            "t",
        )
        .expect_err("loops");
        let all = err.problems.join("\n");
        assert!(
            all.contains(
                "line 3: regions[0].parent: region `a`: its chain of parents comes back to it"
            ),
            "{all}"
        );
        assert!(
            all.contains(
                "line 6: regions[1].parent: region `b`: its chain of parents comes back to it"
            ),
            "{all}"
        );
        assert!(
            all.contains("line 9: regions[2].contains: region `c` names itself"),
            "{all}"
        );
        assert!(
            all.contains("line 11: regions[3].slug: region `c` is defined twice"),
            "{all}"
        );
        assert_eq!(err.problems.len(), 4, "{all}");
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
