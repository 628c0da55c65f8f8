//! The `wirefeed` command line: argument parsing, logging set-up, and one function per subcommand.
//!
//! Owns the binary's edge: `anyhow` errors with context, exit codes (0 ok, 1 runtime failure, 2 bad
//! config or usage, 3 `run --once` left active feeds unpolled), and the human and JSON output
//! formats. Never: holds pipeline logic; each subcommand calls into `daemon`, `store` or
//! `pipeline` (`inspect` and the `eval tag`/`eval dedup` run the daemon's own pipeline), or an
//! eval module for scoring.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use tokio::sync::watch;
use tracing::info;

use crate::config::{Config, LogFormat};
use crate::daemon::App;
use crate::normalize::Rules;
use crate::pipeline::{Origin, Pipeline, Record};
use crate::store::{DefinedIn, NewFeed, Store, StoryQuery};

/// wirefeed: polls news and wire feeds into PostgreSQL or SQLite.
#[derive(Debug, Parser)]
#[command(name = "wirefeed", version, about)]
pub struct Cli {
    /// Config file (TOML). Without one, built-in defaults apply.
    #[arg(long, global = true, env = "WIREFEED_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format; overrides `log.format`.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll each feed when due until SIGINT/SIGTERM.
    Run {
        /// Poll every active feed once, then exit: 0 when every feed was polled, 3 when some
        /// were left (each named with the reason on stderr).
        #[arg(long)]
        once: bool,
        /// With --once: how long the pass may wait for hosts' request spacing and for feeds
        /// other daemons hold (a crashed daemon's lease runs out, then its feeds are taken).
        #[arg(long, value_name = "SECS", default_value_t = crate::daemon::ONCE_MAX_WAIT.as_secs(), requires = "once")]
        max_wait: u64,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the config file and report every problem.
    Check,
    /// Manage feeds.
    #[command(subcommand)]
    Feeds(FeedsCommand),
    /// Print stored stories, newest first. Opens the database read-only; never creates it.
    Stories(StoriesArgs),
    /// List the news regions stories are tagged with (the shipped ones and the config's): slug,
    /// label, parent and member countries.
    Regions {
        /// One JSON object per region: {"slug", "label", "parent", "members", "periphery",
        /// "contains", "continent"}.
        #[arg(long)]
        json: bool,
    },
    /// Re-tag stored stories with the current tagger, regions and topics (after a config or
    /// upgrade changed them), in short batches beside a running daemon. An interrupted run
    /// resumes where it stopped.
    Retag(RetagArgs),
    /// Show what wirefeed would store for a feed file or URL, without a database: parse and
    /// normalize, one JSON object per story (the shape of `stories --json`).
    Inspect(InspectArgs),
    /// Measure a stage on a labelled data set.
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Article-text extraction on the ScrapingHub article-extraction benchmark (a folder holding
    /// ground-truth.json and html/*.html.gz), with that benchmark's shingle metric. Prints P, R,
    /// F1, accuracy, the worst pages, pages still holding copyright or comment-policy lines, and
    /// last a JSON line {"precision", "recall", "f1", "pages", "pages_per_second"}.
    Extract { dir: PathBuf },
    /// Reprint detection on labeled appearances (JSONL, gzipped or not: the format of
    /// ../shared/data/dedup/README.md), through the daemon's pipeline and engine with the
    /// config's `[dedup]` rules, in published order. Prints pairwise P, R, F1, ARI, recall per op, false merges by
    /// kind, the worst errors, and last a JSON line {"precision", "recall", "f1", "ari",
    /// "stories", "stories_per_second"}.
    Dedup {
        file: PathBuf,
        /// Write one {"id", "cluster"} line per appearance here.
        #[arg(long)]
        predictions: Option<PathBuf>,
        /// Instead of scoring, show why two appearances (`ID,ID`) did or did not match: what
        /// the engine made of each text, their overlap under the rules, the candidate lookup,
        /// and the clusters they ended in. `ID,*` lists every pair of ID's gold cluster.
        #[arg(long, value_name = "ID,ID")]
        explain: Option<String>,
    },
    /// Country tagging on labeled stories (JSONL, gzipped or not: the format of
    /// ../shared/data/geo/README.md), each run through the daemon's pipeline (normalized, so a
    /// dateline at the head of the body is found, then tagged) with the config's normalization
    /// rules, regions and topics. Prints top-1 and
    /// country precision, recall and F1 per corpus, and last a JSON line {"top1", "precision",
    /// "recall", "f1", "stories", "stories_per_second"}.
    Tag {
        file: PathBuf,
        /// Write one {"id", "primary", "countries", "regions"} line per story here.
        #[arg(long)]
        predictions: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A feed file, or an http(s) URL to fetch.
    pub target: String,
    /// The publisher's name (for per-source rules).
    #[arg(long)]
    pub source: Option<String>,
    /// Treat the feed as a wire service's own.
    #[arg(long)]
    pub wire: bool,
    /// Resolve relative links against this URL (default: the URL fetched, if any).
    #[arg(long)]
    pub base_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Add a feed (or update its source and wire flag, or resume it when paused). A feed the
    /// config file defines is changed in the file: this refuses, naming its line.
    Add {
        url: String,
        /// The publisher's name.
        #[arg(long)]
        source: String,
        /// The feed is a wire service's own.
        #[arg(long)]
        wire: bool,
        /// Fetch each new item's article page for its full text.
        #[arg(long)]
        full_text: bool,
    },
    /// List feeds with their state: status, origin (config or cli), the URL a permanent
    /// redirect moved it from. Opens the database read-only.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Remove a feed and its stories. A feed the config file defines is removed from the file
    /// first (the daemon then pauses it): this refuses until then, naming its line.
    Remove { url: String },
    /// Add the feeds of an OPML file (nested folders included; importing twice adds nothing).
    /// A feed's source is the folder it is in, else its title.
    Import { file: PathBuf },
    /// Print every feed (from the config file and added ones) as OPML 2.0: each outline titled
    /// with its feed's own title, paused and moved feeds marked. Opens the database read-only.
    Export,
}

#[derive(Debug, Args)]
pub struct RetagArgs {
    /// Only stories first seen this long ago or later: `24h`, `7d`, `2w` (default: every story).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<chrono::Duration>,
    /// Start over even if an interrupted run could be resumed.
    #[arg(long)]
    pub restart: bool,
    /// Stories per batch (one short transaction each).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub batch: i64,
}

#[derive(Debug, Args)]
pub struct StoriesArgs {
    /// Only stories from this long ago or later: `90s`, `30m`, `24h`, `7d`, `2w`.
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<chrono::Duration>,
    /// Only the stories of this reprint cluster (its origin and reprints).
    #[arg(long)]
    pub cluster: Option<i64>,
    /// Only stories of this source (its name, case-insensitive).
    #[arg(long)]
    pub source: Option<String>,
    /// Only stories about this country (ISO 3166-1 alpha-2, e.g. RS, XK).
    #[arg(long)]
    pub country: Option<String>,
    /// Only stories in this region (a slug such as balkans or south_caucasus; a region includes
    /// its parts).
    #[arg(long)]
    pub region: Option<String>,
    /// Only stories with this topic (a `[[topics]]` name).
    #[arg(long)]
    pub topic: Option<String>,
    /// At most this many stories.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `90s`, `30m`, `24h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 24h or 7d"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => return Err(format!("`{s}`: unit must be s, m, h, d or w")),
    };
    n.checked_mul(secs)
        .and_then(chrono::Duration::try_seconds)
        .ok_or_else(|| format!("`{s}` is too long"))
}

/// Entry point for `main`: parses arguments, runs the command, maps failures to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match &cli.config {
        Some(path) => Config::load(path),
        None => Config::from_env(),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::Check) {
        let origin = cli
            .config
            .as_ref()
            .map_or("defaults".to_owned(), |p| p.display().to_string());
        // A reader that went away (`check | true`) is no failure of the config.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{origin}: ok ({} feeds)", config.feeds.len());
        return ExitCode::SUCCESS;
    }
    let to_stdout = matches!(cli.command, Command::Run { .. } | Command::Migrate);
    init_logging(&config, cli.log_format, to_stdout);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli.command, config, cli.config));
    // Work still running on blocking threads (a parse over its budget finishing its check)
    // must not hold the exit: the daemon already waited its grace period for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`wirefeed stories | head`): what it wanted, it has.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            match e.downcast_ref::<NotAllPolled>() {
                Some(_) => ExitCode::from(3),
                None => ExitCode::FAILURE,
            }
        }
    }
}

/// An error with its causes, each once: a cause whose text an outer message already carries
/// (a library error that prints its source and also returns it as `source()`) is not repeated.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// True when the error is a write to a closed pipe. Rust ignores SIGPIPE, so a command whose
/// reader exits early sees its next write fail with `BrokenPipe`; every output path writes with
/// `writeln!(..)?`, so the error reaches `main` here.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(config: &Config, format: Option<LogFormat>, to_stdout: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let default_level = if to_stdout {
        config.log.level.as_str()
    } else {
        "warn"
    };
    // html5ever (under ammonia and the article extractor) warns about markup it handles anyway.
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{default_level},html5ever=error")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let format = format.unwrap_or(config.log.format);
    // Logs of the daemon go to stdout for the journal; other commands keep stdout for their
    // output. Colour only for a person at a terminal: the journal and files get plain text.
    let terminal = if to_stdout {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal && format == LogFormat::Text);
    let result = match (format, to_stdout) {
        (LogFormat::Json, true) => builder.json().with_writer(std::io::stdout).try_init(),
        (LogFormat::Json, false) => builder.json().with_writer(std::io::stderr).try_init(),
        (LogFormat::Text, true) => builder.with_writer(std::io::stdout).try_init(),
        (LogFormat::Text, false) => builder.with_writer(std::io::stderr).try_init(),
    };
    let _ = result;
}

/// The one INFO line a daemon start writes: what runs, on what, with which feeds.
async fn log_start(app: &App, config_path: Option<&std::path::Path>, once: bool) {
    let config = app.config();
    // The feed counts come from the database; a start does not fail for want of them.
    let states = match tokio::time::timeout(Duration::from_secs(5), app.store().feed_gauges()).await
    {
        Ok(Ok(g)) => g.feeds_by_state,
        _ => Vec::new(),
    };
    let count = |state: &str| {
        states
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n)
    };
    info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %config_path.map_or("defaults".to_owned(), |p| p.display().to_string()),
        database = app.store().backend(),
        url = %crate::config::redact_url(&config.database.url),
        config_feeds = config.feeds.len(),
        active_feeds = count("active"),
        paused_feeds = count("paused"),
        gone_feeds = count("gone"),
        admin = config.admin.listen.as_deref().unwrap_or("off"),
        summary_every_secs = config.log.summary_interval_secs,
        owner = app.owner(),
        mode = if once { "once" } else { "daemon" },
        "wirefeed started"
    );
}

async fn dispatch(command: Command, config: Config, config_path: Option<PathBuf>) -> Result<()> {
    match command {
        Command::Run { once, max_wait } => {
            let once = once.then_some(Duration::from_secs(max_wait));
            run(config, once, config_path).await
        }
        Command::Migrate => {
            let store = connect(&config).await?;
            info!(backend = store.backend(), "migrations applied");
            Ok(())
        }
        Command::Check => Ok(()),
        Command::Feeds(cmd) => feeds(config, cmd, config_path.as_deref()).await,
        Command::Stories(args) => stories(config, args, config_path.as_deref()).await,
        Command::Retag(args) => retag(config, args).await,
        Command::Regions { json } => regions(&config, json),
        Command::Inspect(args) => inspect(config, args).await,
        Command::Eval(EvalCommand::Extract { dir }) => eval_extract(&dir),
        Command::Eval(EvalCommand::Tag { file, predictions }) => {
            eval_tag(&config, &file, predictions.as_deref())
        }
        Command::Eval(EvalCommand::Dedup {
            file,
            predictions,
            explain,
        }) => eval_dedup(&config, &file, predictions.as_deref(), explain.as_deref()),
    }
}

async fn connect(config: &Config) -> Result<Store> {
    let store = Store::connect(&config.database)
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// Opens the database for a read command (`stories`, `feeds list`, `feeds export`): read-only,
/// never created, never migrated. A missing SQLite file or an unmigrated database is an error
/// that says which config chose the database and what to run.
async fn open_read(config: &Config, config_path: Option<&std::path::Path>) -> Result<Store> {
    let chosen_by = if std::env::var("WIREFEED_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        "set by WIREFEED_DATABASE_URL".to_owned()
    } else {
        match config_path {
            Some(p) => format!(
                "database.url in {}",
                std::path::absolute(p)
                    .unwrap_or_else(|_| p.to_owned())
                    .display()
            ),
            None => "the built-in default: no --config given".to_owned(),
        }
    };
    let url = crate::config::redact_url(&config.database.url);
    Store::open_read_only(&config.database)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Missing(path) => anyhow::anyhow!(
                "no database file at {} (`{url}`, {chosen_by}); the read commands never create \
                 one: pass the daemon's --config, or run `wirefeed migrate` (or start the \
                 daemon) to create it",
                path.display()
            ),
            e => anyhow::Error::new(e).context(format!(
                "opening the database `{url}` ({chosen_by}) read-only"
            )),
        })
}

/// `run --once` left active feeds unpolled (exit status 3).
#[derive(Debug, thiserror::Error)]
#[error("{0} active feeds were not polled (see the lines above)")]
struct NotAllPolled(usize);

async fn run(config: Config, once: Option<Duration>, config_path: Option<PathBuf>) -> Result<()> {
    // SQLite serves one daemon; PostgreSQL shares the work through leases. The lock comes
    // before anything connects, migrates or syncs the config's feeds.
    let _lock = crate::store::lock_for_daemon(&config.database)?;
    if let Some(max_wait) = once {
        let app = App::build(config).await.context("starting wirefeed")?;
        log_start(&app, config_path.as_deref(), true).await;
        let s = app
            .run_once_within(max_wait)
            .await
            .context("polling feeds")?;
        info!(
            feeds = s.feeds,
            fetched = s.fetched,
            not_modified = s.not_modified,
            failed = s.failed,
            deferred = s.deferred,
            skipped = s.skipped.len(),
            new_stories = s.new_stories,
            "pass complete"
        );
        for (url, why) in &s.skipped {
            eprintln!("not polled: {url}: {why}");
        }
        if !s.skipped.is_empty() {
            return Err(NotAllPolled(s.skipped.len()).into());
        }
        return Ok(());
    }
    let notifier = std::sync::Arc::new(crate::service::Notifier::from_env());
    let Some(app) = build_waiting(config, &notifier).await? else {
        return Ok(());
    };
    log_start(&app, config_path.as_deref(), false).await;
    if let Some(listen) = &app.config().admin.listen {
        // Bound before READY, so an address in use or a host that does not resolve stops the
        // start with its reason instead of leaving a daemon nobody can probe.
        let addr: crate::config::ListenAddr = listen
            .parse()
            .map_err(|e: String| anyhow::anyhow!("admin.listen: {e}"))?;
        let listeners = crate::service::bind_admin(&addr)
            .await
            .with_context(|| format!("admin.listen `{addr}`: cannot listen"))?;
        let admin = app.clone();
        tokio::spawn(async move {
            if let Err(e) = crate::service::serve_admin(admin, listeners).await {
                tracing::error!(error = %e, %addr, "admin listener failed");
            }
        });
    }
    let (tx, rx) = watch::channel(false);
    let stopping = notifier.clone();
    let draining = app.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutdown requested: finishing in-flight refreshes (signal again to stop at once)");
        // systemd waits out the grace period the daemon runs on now, whatever TimeoutStopSec=.
        stopping.stopping(draining.timings().shutdown_grace);
        let _ = tx.send(true);
        wait_for_signal().await;
        tracing::warn!("second signal: stopping now; unfinished refreshes write nothing");
        std::process::exit(130);
    });
    // Listen for SIGHUP before saying READY: its default action would end the process.
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("listening for SIGHUP")?;
    // Migrations ran in App::build; the scheduler starts now.
    notifier.notify("READY=1\nSTATUS=scheduler started");
    let supervisor = tokio::spawn(crate::service::supervise(app.clone(), notifier.clone()));
    let reloader = tokio::spawn(reload_on_hangup(
        app.clone(),
        config_path,
        notifier.clone(),
        hup,
    ));
    app.run_until_stopped(rx).await;
    supervisor.abort();
    reloader.abort();
    Ok(())
}

/// Builds the daemon, waiting for a database that is not reachable yet (starting before it
/// after a reboot, or during its restart): retries with a backoff up to 15 s, says so in
/// STATUS=, and keeps systemd's start and watchdog timers from expiring meanwhile. Any other
/// failure (a bad URL, a refused login, a failed migration) ends the start at once. `None` when
/// a signal came while waiting.
async fn build_waiting(config: Config, notifier: &crate::service::Notifier) -> Result<Option<App>> {
    let mut backoff = Duration::from_secs(1);
    let signal = wait_for_signal();
    tokio::pin!(signal);
    loop {
        match App::build(config.clone()).await {
            Ok(app) => return Ok(Some(app)),
            Err(crate::daemon::StartError::Store(e)) if e.is_unreachable() => {
                tracing::warn!(
                    error = %e,
                    retry_in_secs = backoff.as_secs(),
                    "database unreachable; waiting for it"
                );
                notifier.notify(&format!(
                    "STATUS=waiting for the database: {e}\nEXTEND_TIMEOUT_USEC={}\nWATCHDOG=1",
                    (backoff + Duration::from_secs(30)).as_micros()
                ));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("starting wirefeed")),
        }
        tokio::select! {
            _ = &mut signal => {
                info!("shutdown requested while waiting for the database");
                return Ok(None);
            }
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(15));
    }
}

/// On SIGHUP: re-reads and validates the config file. An invalid file is logged and the running
/// configuration kept. A valid one is applied at once (see [`App::reload`]); the sections that
/// need a restart (database, log, admin listener) are named in the log.
async fn reload_on_hangup(
    app: App,
    path: Option<PathBuf>,
    notifier: std::sync::Arc<crate::service::Notifier>,
    mut hup: tokio::signal::unix::Signal,
) {
    while hup.recv().await.is_some() {
        notifier.notify("RELOADING=1");
        let Some(path) = &path else {
            tracing::warn!("SIGHUP: running on built-in defaults, no config file to reload");
            notifier.notify("READY=1");
            continue;
        };
        match Config::load(path) {
            Err(e) => tracing::error!(
                file = %path.display(),
                problems = %e.problems.join("; "),
                "SIGHUP: the new config is invalid; keeping the running one"
            ),
            Ok(new) => {
                let feeds = new.feeds.len();
                match app.reload(new).await {
                    Err(e) => tracing::error!(
                        error = %e,
                        "SIGHUP: cannot apply the new config; keeping the running one"
                    ),
                    Ok(later) => {
                        info!(feeds, file = %path.display(), "config reloaded and applied");
                        if !later.is_empty() {
                            tracing::warn!(
                                sections = %later.join(", "),
                                "changed settings apply at the next restart"
                            );
                        }
                    }
                }
            }
        }
        notifier.notify("READY=1");
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Why the command line may not change or remove `feed`: the config file defines it, so the
/// daemon would put it back as the file says at its next start. `None` when it may: a feed
/// added from the command line, a config feed the daemon paused because its file dropped it, or
/// one the config file given with --config no longer lists.
fn owned_by_config(config: &Config, feed: &crate::store::FeedInfo) -> Option<String> {
    if feed.defined_in != DefinedIn::Config.as_str() {
        return None;
    }
    let listed = config
        .feeds
        .iter()
        .find(|f| f.url == feed.url || feed.moved_from.as_deref() == Some(f.url.as_str()));
    match (&config.path, listed) {
        (Some(path), Some(f)) => Some(match config.line_of(&f.url) {
            Some(n) => format!("{} line {n}", path.display()),
            None => path.display().to_string(),
        }),
        (Some(_), None) => None,
        (None, _) if feed.status == "active" => Some(
            "the daemon's config file (no --config was given here, so which line is unknown)"
                .to_owned(),
        ),
        (None, _) => None,
    }
}

/// The stored feed at `url`, or the one a permanent redirect moved away from `url`.
fn find_feed<'a>(
    feeds: &'a [crate::store::FeedInfo],
    url: &str,
) -> Option<&'a crate::store::FeedInfo> {
    feeds
        .iter()
        .find(|f| f.url == url)
        .or_else(|| feeds.iter().find(|f| f.moved_from.as_deref() == Some(url)))
}

async fn feeds(
    config: Config,
    cmd: FeedsCommand,
    config_path: Option<&std::path::Path>,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        FeedsCommand::Add {
            url,
            source,
            wire,
            full_text,
        } => {
            let parsed = url::Url::parse(&url).with_context(|| format!("`{url}` is not a URL"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https"),
                "`{url}`: only http and https feeds are polled"
            );
            let source = source.trim();
            anyhow::ensure!(!source.is_empty(), "--source must name the publisher");
            let store = connect(&config).await?;
            let known = store.list_feeds().await?;
            if let Some(f) = find_feed(&known, &url) {
                if f.url != url {
                    anyhow::bail!(
                        "`{url}` moved to {} (permanent redirect): feed {} polls it there; \
                         `wirefeed feeds add {} ...` changes it",
                        f.url,
                        f.id,
                        f.url
                    );
                }
                if let Some(owner) = owned_by_config(&config, f) {
                    if f.source == source && f.wire == wire && f.full_text == full_text {
                        writeln!(out, "feed {}: {url} (defined in {owner}; unchanged)", f.id)?;
                        return Ok(());
                    }
                    anyhow::bail!(
                        "`{url}` is defined in {owner} (source `{}`, wire {}, full_text {}): \
                         change it there, not with `feeds add`; the daemon applies the file at \
                         its next start or reload (SIGHUP)",
                        f.source,
                        f.wire,
                        f.full_text
                    );
                }
            }
            let id = store
                .upsert_feed(
                    &NewFeed {
                        url: &url,
                        source,
                        is_wire: wire,
                        full_text,
                        defined_in: DefinedIn::Cli,
                        title: None,
                    },
                    Utc::now(),
                )
                .await?;
            writeln!(out, "feed {id}: {url}")?;
        }
        FeedsCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let parsed = crate::opml::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            for s in &parsed.skipped {
                eprintln!("skipped: {s}");
            }
            let store = connect(&config).await?;
            // A feed is present under its address, or under the one it moved from.
            let known: std::collections::HashSet<String> = store
                .list_feeds()
                .await?
                .into_iter()
                .flat_map(|f| std::iter::once(f.url).chain(f.moved_from))
                .collect();
            let total = parsed.feeds.len();
            let progress = Progress::new(total > 20);
            let (mut added, mut paused) = (0, 0);
            for (i, f) in parsed.feeds.iter().enumerate() {
                if !known.contains(&f.url) {
                    store
                        .upsert_feed(
                            &NewFeed {
                                url: &f.url,
                                source: &f.source,
                                is_wire: f.wire,
                                full_text: f.full_text,
                                defined_in: DefinedIn::Cli,
                                title: f.title.as_deref(),
                            },
                            Utc::now(),
                        )
                        .await?;
                    added += 1;
                    if f.paused && store.pause_feed(&f.url).await? {
                        paused += 1;
                    }
                }
                progress.show(i + 1, total);
            }
            progress.end();
            let paused = match paused {
                0 => String::new(),
                n => format!(", {n} of them paused as the file marks them"),
            };
            writeln!(
                out,
                "{}: {total} feeds, {added} added, {} already present, {} outlines skipped{paused}",
                file.display(),
                total - added,
                parsed.skipped.len()
            )?;
        }
        FeedsCommand::Export => {
            let store = open_read(&config, config_path).await?;
            // The database's feeds, and the config file's even before a daemon synced them.
            let stored = store.list_feeds().await?;
            let mut feeds: Vec<crate::opml::OpmlFeed> = Vec::with_capacity(stored.len());
            for f in &config.feeds {
                if find_feed(&stored, &f.url).is_none() {
                    feeds.push(crate::opml::OpmlFeed {
                        url: f.url.clone(),
                        source: f.source.clone(),
                        wire: f.wire,
                        full_text: f.full_text,
                        title: None,
                        paused: false,
                        moved_from: None,
                    });
                }
            }
            feeds.extend(stored.into_iter().map(|f| crate::opml::OpmlFeed {
                paused: f.status == "paused",
                url: f.url,
                source: f.source,
                wire: f.wire,
                full_text: f.full_text,
                title: f.title,
                moved_from: f.moved_from,
            }));
            write!(
                out,
                "{}",
                crate::opml::write(&feeds, &Utc::now().to_rfc2822())
            )?;
        }
        FeedsCommand::List { json } => {
            let store = open_read(&config, config_path).await?;
            let feeds = store.list_feeds().await?;
            if json {
                for f in feeds {
                    writeln!(out, "{}", serde_json::to_string(&f)?)?;
                }
            } else {
                writeln!(
                    out,
                    "{:>5}  {:<8}  {:<6}  {:>6}  {:<18}  {:<20}  {:<24}  URL",
                    "ID", "STATUS", "ORIGIN", "HTTP", "ERROR", "NEXT CHECK", "SOURCE"
                )?;
                for f in feeds {
                    let moved = f
                        .moved_from
                        .as_deref()
                        .map_or_else(String::new, |m| format!("  (moved from {m})"));
                    writeln!(
                        out,
                        "{:>5}  {:<8}  {:<6}  {:>6}  {:<18}  {:<20}  {:<24}  {}{moved}",
                        f.id,
                        f.status,
                        f.defined_in,
                        f.last_status.map_or("-".to_owned(), |s| s.to_string()),
                        f.last_error.as_deref().unwrap_or("-"),
                        f.next_check_at,
                        truncate(&f.source, 24),
                        f.url
                    )?;
                }
            }
        }
        FeedsCommand::Remove { url } => {
            let store = connect(&config).await?;
            let known = store.list_feeds().await?;
            let Some(f) = find_feed(&known, &url) else {
                anyhow::bail!("no feed with URL `{url}`");
            };
            if f.url != url {
                anyhow::bail!(
                    "`{url}` moved to {} (permanent redirect); `wirefeed feeds remove {}` \
                     removes it",
                    f.url,
                    f.url
                );
            }
            if let Some(owner) = owned_by_config(&config, f) {
                anyhow::bail!(
                    "`{url}` is defined in {owner}: remove its [[feeds]] entry there (the \
                     daemon then pauses it at its next start or reload, keeping its stories), \
                     then `wirefeed feeds remove` deletes it and its stories"
                );
            }
            if store.remove_feed(&url).await? {
                writeln!(out, "removed {url}")?;
            } else {
                anyhow::bail!("no feed with URL `{url}`");
            }
        }
    }
    Ok(())
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    on: bool,
}

impl Progress {
    fn new(wanted: bool) -> Progress {
        use std::io::IsTerminal;
        Progress {
            on: wanted && std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: usize, total: usize) {
        if self.on {
            let width = 30;
            let filled = done.min(total) * width / total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
        }
    }

    fn end(&self) {
        if self.on {
            eprintln!();
        }
    }
}

async fn retag(config: Config, args: RetagArgs) -> Result<()> {
    let tagger = crate::tag::Tagger::new(&config.regions, &config.topics)?;
    let store = connect(&config).await?;
    store.migrate().await?;
    let resumed = if args.restart {
        None
    } else {
        store.retag_progress().await?
    };
    if resumed.is_some() && args.since.is_some() {
        anyhow::bail!(
            "an interrupted re-tagging run can be resumed, and --since would not apply to it: \
             run `wirefeed retag` to finish it, or `wirefeed retag --restart --since ...`"
        );
    }
    let mut run = match resumed {
        Some(run) => {
            eprintln!(
                "resuming the re-tagging run started {} after story {}",
                run.started_at.to_rfc3339(),
                run.last_story_id
            );
            run
        }
        None => {
            let now = Utc::now();
            let since = match args.since {
                Some(d) => Some(
                    now.checked_sub_signed(d)
                        .context("--since reaches before any representable date")?,
                ),
                None => None,
            };
            crate::store::RetagProgress {
                since,
                last_story_id: 0,
                started_at: now,
            }
        }
    };
    let total = usize::try_from(store.retag_remaining(&run).await?).unwrap_or(0);
    let progress = Progress::new(total > 0);
    let mut done = 0usize;
    loop {
        let batch = store.retag_batch(&run, args.batch).await?;
        let Some(last) = batch.last().map(|s| s.id) else {
            break;
        };
        let tagged: Vec<(&crate::store::RetagStory, crate::tag::Tags)> = batch
            .iter()
            .map(|s| {
                let tags = tagger.tag(crate::tag::Text {
                    title: &s.title,
                    dateline: s.dateline.as_deref(),
                    body: &s.body,
                });
                (s, tags)
            })
            .collect();
        run.last_story_id = last;
        store.write_retag(&tagged, &run, Utc::now()).await?;
        done += batch.len();
        progress.show(done, total.max(done));
    }
    progress.end();
    store.finish_retag().await?;
    writeln!(std::io::stdout().lock(), "re-tagged {done} stories")?;
    Ok(())
}

fn regions(config: &Config, json: bool) -> Result<()> {
    let tagger = crate::tag::Tagger::new(&config.regions, &config.topics)?;
    let mut out = std::io::stdout().lock();
    for r in tagger.regions() {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({
                    "slug": r.slug,
                    "label": r.label,
                    "parent": r.parent,
                    "members": r.members,
                    "periphery": r.periphery,
                    "contains": r.contains,
                    "continent": r.continent,
                })
            )?;
        } else {
            let mut members = r.members.join(" ");
            if !r.periphery.is_empty() {
                members.push_str(&format!(" (periphery: {})", r.periphery.join(" ")));
            }
            if !r.contains.is_empty() {
                members.push_str(&format!(" (contains: {})", r.contains.join(" ")));
            }
            writeln!(
                out,
                "{:<24} {:<32} {:<16} {}",
                r.slug,
                truncate(r.label.as_deref().unwrap_or("-"), 32),
                r.parent.as_deref().unwrap_or("-"),
                members
            )?;
        }
    }
    Ok(())
}

/// Checks `stories`' tag filters against what the tagger can write, so a typo is an error that
/// names the valid values instead of an empty answer.
fn check_tag_filters(config: &Config, args: &StoriesArgs) -> Result<()> {
    if args.country.is_none() && args.region.is_none() && args.topic.is_none() {
        return Ok(());
    }
    let tagger = crate::tag::Tagger::new(&config.regions, &config.topics)?;
    if let Some(c) = &args.country {
        if !tagger.knows_country(c) {
            anyhow::bail!(
                "--country {c}: not a country code the tagger writes; use ISO 3166-1 alpha-2 \
                 (RS, XK for Kosovo, GB, US); `wirefeed regions` lists every region's members"
            );
        }
    }
    if let Some(r) = &args.region {
        if !tagger.regions().iter().any(|x| x.slug == *r) {
            if let Some(x) = tagger
                .regions()
                .iter()
                .find(|x| x.slug.eq_ignore_ascii_case(r))
            {
                anyhow::bail!("--region {r}: no such region; did you mean {}?", x.slug);
            }
            let slugs: Vec<&str> = tagger.regions().iter().map(|x| x.slug.as_str()).collect();
            anyhow::bail!("--region {r}: no such region; valid: {}", slugs.join(", "));
        }
    }
    if let Some(t) = &args.topic {
        if !config.topics.iter().any(|x| x.name == *t) {
            let names: Vec<&str> = config.topics.iter().map(|x| x.name.as_str()).collect();
            if names.is_empty() {
                anyhow::bail!("--topic {t}: the config defines no [[topics]]");
            }
            anyhow::bail!("--topic {t}: no such topic; valid: {}", names.join(", "));
        }
    }
    Ok(())
}

async fn stories(
    config: Config,
    args: StoriesArgs,
    config_path: Option<&std::path::Path>,
) -> Result<()> {
    check_tag_filters(&config, &args)?;
    let store = open_read(&config, config_path).await?;
    let since = match args.since {
        Some(d) => Some(
            Utc::now()
                .checked_sub_signed(d)
                .context("--since reaches before any representable date")?,
        ),
        None => None,
    };
    let q = StoryQuery {
        since,
        cluster: args.cluster,
        source: args.source,
        country: args.country,
        region: args.region,
        topic: args.topic,
        limit: args.limit.max(0),
    };
    let stories = store.stories(&q).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for s in stories {
            writeln!(out, "{}", serde_json::to_string(&s)?)?;
        }
    } else {
        writeln!(
            out,
            "{:<20}  {:<20}  {:>8}  {:<7}  TITLE",
            "PUBLISHED", "SOURCE", "CLUSTER", "ROLE"
        )?;
        for s in stories {
            let role = match (s.is_reprint, s.origin == s.id) {
                (true, _) => "reprint",
                (false, true) => "origin",
                (false, false) => "-",
            };
            writeln!(
                out,
                "{:<20}  {:<20}  {:>8}  {:<7}  {}",
                s.published.as_deref().unwrap_or("-"),
                truncate(s.source.as_deref().unwrap_or("-"), 20),
                s.cluster.map_or_else(|| "-".to_owned(), |c| c.to_string()),
                role,
                truncate(&s.title, 80)
            )?;
        }
    }
    Ok(())
}

async fn inspect(config: Config, args: InspectArgs) -> Result<()> {
    use crate::fetch::{FetchOutcome, Fetcher, Validators};
    let is_url = args.target.starts_with("http://") || args.target.starts_with("https://");
    let (bytes, charset, fetched_url) = if is_url {
        let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
        match fetcher.fetch(&args.target, &Validators::default()).await {
            FetchOutcome::Fetched(f) => (f.body, f.charset, Some(f.final_url)),
            FetchOutcome::Failed(e) => {
                anyhow::bail!("{}: {} ({})", args.target, e, e.kind.as_str())
            }
            FetchOutcome::Gone { status } | FetchOutcome::RateLimited { status, .. } => {
                anyhow::bail!("{}: HTTP {status}", args.target)
            }
            FetchOutcome::NotModified { .. } => anyhow::bail!("{}: HTTP 304", args.target),
        }
    } else {
        let bytes =
            std::fs::read(&args.target).with_context(|| format!("reading {}", args.target))?;
        (bytes, None, None)
    };
    let base = args.base_url.clone().or(fetched_url);
    let rules = Rules::new(&config.normalize);
    let tagger = crate::tag::Tagger::new(&config.regions, &config.topics)?;
    let origin = Origin {
        base_url: base.as_deref(),
        source: args.source.as_deref(),
        is_wire: args.wire,
    };
    // The daemon's budget for one document: what it would refuse, inspect refuses too.
    let mut budget =
        crate::budget::Budget::new(crate::config::Timings::of(&config).document_budget);
    let doc = budget
        .run(|| pipeline(&config, &rules, &tagger).run(&bytes, charset.as_deref(), &origin))
        .with_context(|| format!("{}: over budget (daemon.document_budget_ms)", args.target))?
        .with_context(|| format!("{}: not a readable feed", args.target))?;
    let mut err = std::io::stderr().lock();
    for s in &doc.skipped {
        match s.index {
            Some(i) => writeln!(err, "skipped item {i}: {}", s.reason)?,
            None => writeln!(err, "skipped: {}", s.reason)?,
        }
    }
    for r in &doc.recurring {
        writeln!(
            err,
            "removed from every story (recurs across the feed): {r}"
        )?;
    }
    let mut out = std::io::stdout().lock();
    for incoming in &doc.incoming {
        let mut shown = crate::store::StoredStory::unstored(
            &incoming.story,
            &args.target,
            args.source.as_deref(),
        );
        shown.set_tags(&incoming.tags);
        let mut value = serde_json::to_value(&shown)?;
        if let Some(obj) = value.as_object_mut() {
            // Which words counted, and where: what `inspect` adds to the stored shape.
            obj.insert(
                "explanation".to_owned(),
                serde_json::to_value(&incoming.tags.evidence)?,
            );
        }
        writeln!(out, "{value}")?;
    }
    Ok(())
}

/// The daemon's document pipeline over one config's compiled rules.
fn pipeline<'a>(config: &Config, rules: &'a Rules, tagger: &'a crate::tag::Tagger) -> Pipeline<'a> {
    Pipeline {
        rules,
        tagger,
        max_items: config.fetch.max_items_per_feed,
    }
}

/// Writes one JSON value a line to `path` (an eval's `--predictions`).
fn write_json_lines(
    path: &std::path::Path,
    lines: impl Iterator<Item = serde_json::Value>,
) -> Result<()> {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("{}", path.display()))?,
    );
    for line in lines {
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}

fn eval_tag(
    config: &Config,
    file: &std::path::Path,
    predictions: Option<&std::path::Path>,
) -> Result<()> {
    let rules = Rules::new(&config.normalize);
    let tagger = crate::tag::Tagger::new(&config.regions, &config.topics)?;
    let pipeline = pipeline(config, &rules, &tagger);
    // Each story runs as the one item of a feed: normalized (its dateline found in the body, as
    // the daemon finds it), then tagged.
    let r = crate::tag::eval::evaluate(file, |id, text| {
        let record = Record {
            id,
            title: text.title,
            dateline: text.dateline,
            body: text.body,
            url: None,
            published: None,
        };
        pipeline
            .run_record(&record, &Origin::default())
            .map(|i| i.tags)
            .unwrap_or_default()
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = predictions {
        write_json_lines(
            path,
            r.predictions.iter().map(|p| {
                serde_json::json!({"id": p.id, "primary": p.primary, "countries": p.countries, "regions": p.regions})
            }),
        )?;
    }
    let mut out = std::io::stdout().lock();
    for (corpus, s) in &r.by_corpus {
        writeln!(
            out,
            "{corpus:<20} stories {:>6}  top-1 {:.4}  precision {:.4}  recall {:.4}  F1 {:.4}",
            s.stories, s.top1, s.precision, s.recall, s.f1
        )?;
    }
    writeln!(out, "{:.0} stories/s (one thread)", r.stories_per_second)?;
    let o = &r.overall;
    writeln!(
        out,
        "{}",
        serde_json::json!({
            "top1": o.top1,
            "precision": o.precision,
            "recall": o.recall,
            "f1": o.f1,
            "stories": o.stories,
            "stories_per_second": r.stories_per_second,
        })
    )?;
    Ok(())
}

fn eval_dedup(
    config: &Config,
    file: &std::path::Path,
    predictions: Option<&std::path::Path>,
    explain: Option<&str>,
) -> Result<()> {
    let rules = Rules::new(&config.normalize);
    let tagger = crate::tag::Tagger::new(&config.regions, &config.topics)?;
    let pipeline = pipeline(config, &rules, &tagger);
    // Each appearance runs as the one item of its outlet's feed, through every stage the daemon
    // runs before placing it.
    let prepare = |a: &crate::dedup::eval::Appearance<'_>| {
        let record = Record {
            id: a.id,
            title: a.title,
            dateline: None,
            body: a.body,
            url: a.url,
            published: a.published,
        };
        let origin = Origin {
            base_url: None,
            source: Some(a.source),
            is_wire: crate::normalize::credit::wire_in_credit(a.source).is_some(),
        };
        match pipeline.run_record(&record, &origin) {
            Some(i) => (
                i.story.published.map_or(0, |t| t.timestamp()),
                i.fingerprint,
            ),
            // Skipped by normalization: nothing to match.
            None => (0, crate::dedup::fingerprint("")),
        }
    };
    if let Some(pair) = explain {
        let (a, b) = pair
            .split_once(',')
            .ok_or_else(|| anyhow::anyhow!("--explain takes two appearance ids: ID,ID"))?;
        let text = crate::dedup::eval::explain(
            file,
            crate::dedup::MatchRules::from(&config.dedup),
            a.trim(),
            b.trim(),
            prepare,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        write!(std::io::stdout().lock(), "{text}")?;
        return Ok(());
    }
    let r =
        crate::dedup::eval::evaluate(file, crate::dedup::MatchRules::from(&config.dedup), prepare)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = predictions {
        write_json_lines(
            path,
            r.predictions
                .iter()
                .map(|p| serde_json::json!({"id": p.id, "cluster": p.cluster})),
        )?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "stories {}  precision {:.4}  recall {:.4}  F1 {:.4}  ARI {:.4}",
        r.stories, r.precision, r.recall, r.f1, r.ari
    )?;
    writeln!(
        out,
        "{:.0} stories/s pipeline+match, {:.0} stories/s match alone (one thread); index {:.0} bytes/story",
        r.stories_per_second, r.dedup_per_second, r.index_bytes_per_story
    )?;
    writeln!(out, "gold pairs kept together, by op:")?;
    for (op, together, total) in &r.by_op {
        writeln!(
            out,
            "  {op:<16} {together:>6} / {total:<6} {:.4}",
            *together as f64 / (*total).max(1) as f64
        )?;
    }
    writeln!(out, "false-merge pairs by hard-negative kind:")?;
    for (kind, n) in &r.false_by_kind {
        writeln!(out, "  {kind:<16} {n}")?;
    }
    writeln!(out, "wrongly merged (worst first):")?;
    for e in r.wrongly_merged.iter().take(15) {
        writeln!(
            out,
            "  {:>4} pairs  {} {:?}  +  {} {:?}  [{}]",
            e.pairs,
            e.a.0,
            e.a.1,
            e.b.0,
            e.b.1,
            e.kind.as_deref().unwrap_or("none")
        )?;
    }
    writeln!(out, "missed (worst first):")?;
    for e in r.missed.iter().take(15) {
        writeln!(
            out,
            "  {:>4} pairs  {} {:?}  /  {} {:?}",
            e.pairs, e.a.0, e.a.1, e.b.0, e.b.1
        )?;
    }
    writeln!(
        out,
        "{}",
        serde_json::json!({
            "precision": r.precision,
            "recall": r.recall,
            "f1": r.f1,
            "ari": r.ari,
            "stories": r.stories,
            "stories_per_second": r.stories_per_second,
        })
    )?;
    Ok(())
}

fn eval_extract(dir: &std::path::Path) -> Result<()> {
    let r = crate::extract::eval::evaluate(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "pages {}  precision {:.4}  recall {:.4}  F1 {:.4}  accuracy {:.4}  {:.0} pages/s (one thread)",
        r.pages, r.precision, r.recall, r.f1, r.accuracy, r.pages_per_second
    )?;
    writeln!(
        out,
        "pages whose output holds a copyright or comment-policy line: {}",
        r.boilerplate_pages.len()
    )?;
    for id in &r.boilerplate_pages {
        writeln!(out, "  {id}")?;
    }
    writeln!(out, "worst pages:")?;
    for p in &r.worst {
        writeln!(
            out,
            "  {}  precision {:.3}  recall {:.3}",
            p.id, p.precision, p.recall
        )?;
    }
    writeln!(
        out,
        "{}",
        serde_json::json!({
            "precision": r.precision,
            "recall": r.recall,
            "f1": r.f1,
            "pages": r.pages,
            "pages_per_second": r.pages_per_second,
        })
    )?;
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(chrono::Duration::seconds(90)));
        assert_eq!(parse_duration("24h"), Ok(chrono::Duration::hours(24)));
        assert_eq!(parse_duration("7d"), Ok(chrono::Duration::days(7)));
        assert_eq!(parse_duration("2w"), Ok(chrono::Duration::weeks(2)));
        assert_eq!(parse_duration("15"), Ok(chrono::Duration::seconds(15)));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("99999999999999999w").is_err());
    }

    #[test]
    fn an_error_chain_says_each_cause_once() {
        // sqlx's I/O error prints its source and also returns it: three times with `{:#}`.
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = anyhow::Error::new(sqlx::Error::Io(io)).context("opening the database");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).to_string();
        assert_eq!(format!("{e:#}").matches(&refused).count(), 2);
        let text = error_chain(&e);
        assert_eq!(text.matches(&refused).count(), 1, "{text}");
        assert!(text.starts_with("opening the database: "), "{text}");
        // Distinct causes all stay.
        let e = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(error_chain(&e), "outer: middle: inner");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
