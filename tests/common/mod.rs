//! Test harness: a local feed server (port 0) and a fresh database per test.
//!
//! The feed server serves fixtures from `tests/fixtures/` with ETag and Last-Modified, answers
//! conditional requests with 304, and counts what it served. Databases: SQLite in a temporary
//! directory always; PostgreSQL when `WIREFEED_TEST_DATABASE_URL` is set (each test creates its own
//! database there and drops it at the end). With `WIREFEED_REQUIRE_POSTGRES=1` (set by `.ci/run`), a
//! missing PostgreSQL fails the tests instead of skipping them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use sqlx::Connection;

use wirefeed::config::{Config, FeedConfig, HostOverride};
use wirefeed::daemon::App;
use wirefeed::store::FeedInfo;

/// What a route answers.
#[derive(Clone)]
pub enum Route {
    /// A document with validators.
    Doc {
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A bare status code with an empty body.
    Status(u16),
    /// Any status, headers and body.
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// 200 with a body that arrives one byte every `every_ms`, `bytes` bytes in all.
    Trickle { bytes: usize, every_ms: u64 },
    /// 200 with `bytes` bytes, streamed in 1 MiB chunks (never held in memory at once).
    Large { bytes: usize },
}

#[derive(Default)]
pub struct Counts {
    /// Requests per path.
    pub requests: HashMap<String, usize>,
    /// 304 answers per path.
    pub not_modified: HashMap<String, usize>,
    /// Conditional requests seen per path (If-None-Match or If-Modified-Since present).
    pub conditional: HashMap<String, usize>,
    /// When each request arrived, per path.
    pub times: HashMap<String, Vec<std::time::Instant>>,
}

#[derive(Clone, Default)]
struct ServerState {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    counts: Arc<Mutex<Counts>>,
}

/// A feed server on 127.0.0.1, port chosen by the OS.
pub struct FeedServer {
    pub addr: SocketAddr,
    state: ServerState,
    _task: tokio::task::JoinHandle<()>,
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        Self::start_on("127.0.0.1").await
    }

    /// A server on another loopback address (127.0.0.2, …): a different host for the budgets.
    pub async fn start_on(ip: &str) -> FeedServer {
        let state = ServerState::default();
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
            .await
            .expect("bind feed server");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("feed server");
        });
        FeedServer {
            addr,
            state,
            _task: task,
        }
    }

    /// Serves a fixture file at `path`.
    pub fn fixture(&self, path: &str, name: &str) -> String {
        let content_type = if name.ends_with(".json") {
            "application/feed+json"
        } else if name.ends_with(".html") {
            "text/html; charset=utf-8"
        } else {
            "application/rss+xml"
        };
        self.route(
            path,
            Route::Doc {
                content_type,
                body: fixture(name),
            },
        )
    }

    /// Sets what `path` answers; returns its URL.
    pub fn route(&self, path: &str, route: Route) -> String {
        self.state
            .routes
            .lock()
            .expect("routes")
            .insert(path.to_owned(), route);
        self.url(path)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self, path: &str) -> usize {
        let c = self.state.counts.lock().expect("counts");
        c.requests.get(path).copied().unwrap_or(0)
    }

    pub fn total_requests(&self) -> usize {
        let c = self.state.counts.lock().expect("counts");
        c.requests.values().sum()
    }

    pub fn not_modified(&self, path: &str) -> usize {
        let c = self.state.counts.lock().expect("counts");
        c.not_modified.get(path).copied().unwrap_or(0)
    }

    pub fn times(&self, path: &str) -> Vec<std::time::Instant> {
        let c = self.state.counts.lock().expect("counts");
        c.times.get(path).cloned().unwrap_or_default()
    }

    pub fn conditional(&self, path: &str) -> usize {
        let c = self.state.counts.lock().expect("counts");
        c.conditional.get(path).copied().unwrap_or(0)
    }
}

fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &blake3::hash(body).to_hex()[..16])
}

const LAST_MODIFIED: &str = "Thu, 11 Jan 2024 16:00:00 GMT";

async fn serve(State(state): State<ServerState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let headers: HeaderMap = req.headers().clone();
    let route = state.routes.lock().expect("routes").get(&path).cloned();
    let mut counts = state.counts.lock().expect("counts");
    *counts.requests.entry(path.clone()).or_default() += 1;
    counts
        .times
        .entry(path.clone())
        .or_default()
        .push(std::time::Instant::now());
    let conditional = headers.contains_key(header::IF_NONE_MATCH)
        || headers.contains_key(header::IF_MODIFIED_SINCE);
    if conditional {
        *counts.conditional.entry(path.clone()).or_default() += 1;
    }
    let mut resp = Response::new(Body::empty());
    match route {
        None => *resp.status_mut() = StatusCode::NOT_FOUND,
        Some(Route::Status(code)) => {
            *resp.status_mut() = StatusCode::from_u16(code).expect("status");
        }
        Some(Route::Respond {
            status,
            headers,
            body,
        }) => {
            *resp.status_mut() = StatusCode::from_u16(status).expect("status");
            for (k, v) in headers {
                resp.headers_mut()
                    .insert(k, HeaderValue::from_str(&v).expect("header value"));
            }
            *resp.body_mut() = Body::from(body);
        }
        Some(Route::Trickle { bytes, every_ms }) => {
            let stream = futures::stream::unfold(0usize, move |sent| async move {
                if sent >= bytes {
                    return None;
                }
                tokio::time::sleep(std::time::Duration::from_millis(every_ms)).await;
                Some((Ok::<_, std::io::Error>(vec![b' ']), sent + 1))
            });
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/rss+xml"),
            );
            *resp.body_mut() = Body::from_stream(stream);
        }
        Some(Route::Large { bytes }) => {
            const MIB: usize = 1 << 20;
            let stream = futures::stream::unfold(0usize, move |sent| async move {
                if sent >= bytes {
                    return None;
                }
                let n = MIB.min(bytes - sent);
                Some((Ok::<_, std::io::Error>(vec![b' '; n]), sent + n))
            });
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/rss+xml"),
            );
            *resp.body_mut() = Body::from_stream(stream);
        }
        Some(Route::Doc { content_type, body }) => {
            let etag = etag_of(&body);
            let matches = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == etag)
                && headers
                    .get(header::IF_MODIFIED_SINCE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v == LAST_MODIFIED);
            let h = resp.headers_mut();
            h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("etag"));
            h.insert(
                header::LAST_MODIFIED,
                HeaderValue::from_static(LAST_MODIFIED),
            );
            if matches {
                *counts.not_modified.entry(path.clone()).or_default() += 1;
                *resp.status_mut() = StatusCode::NOT_MODIFIED;
            } else {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                *resp.body_mut() = Body::from(body);
            }
        }
    }
    resp
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("wirefeed.db").display());
        TestDb {
            url,
            backend: "sqlite",
            _dir: Some(dir),
            pg_admin: None,
        }
    }

    /// A new PostgreSQL database, or `None` when no server is configured for tests.
    pub async fn postgres() -> Option<TestDb> {
        let admin = match std::env::var("WIREFEED_TEST_DATABASE_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                if std::env::var("WIREFEED_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!("WIREFEED_REQUIRE_POSTGRES=1 but WIREFEED_TEST_DATABASE_URL is not set");
                }
                eprintln!("skipping PostgreSQL: WIREFEED_TEST_DATABASE_URL is not set");
                return None;
            }
        };
        let name = format!(
            "wirefeed_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("connect to test PostgreSQL at {admin}: {e}"));
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await
            .expect("drop old test database");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&admin).expect("test database URL");
        url.set_path(&name);
        Some(TestDb {
            url: url.to_string(),
            backend: "postgres",
            _dir: None,
            pg_admin: Some((admin, name)),
        })
    }

    /// Drops a PostgreSQL test database (SQLite's directory goes with the value).
    pub async fn cleanup(self) {
        if let Some((admin, name)) = &self.pg_admin {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }

    pub fn dir(&self) -> Option<PathBuf> {
        self._dir.as_ref().map(|d| d.path().to_owned())
    }
}

/// The databases every pipeline test runs against: SQLite always, PostgreSQL when configured.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite()];
    if let Some(pg) = TestDb::postgres().await {
        dbs.push(pg);
    }
    dbs
}

/// A config for tests: the given database, loopback allowed, short timeouts.
pub fn config(db_url: &str, feeds: &[(&str, &str, bool)]) -> Config {
    let mut c = Config::default();
    c.database.url = db_url.to_owned();
    c.database.max_connections = 4;
    c.fetch.allow_private_networks = true;
    c.fetch.timeout_secs = 5;
    c.fetch.connect_timeout_secs = 2;
    c.fetch.concurrency = 8;
    // Every test feed is on 127.0.0.1: lift the per-host budget there (politeness has its own
    // tests).
    c.politeness.hosts = vec![HostOverride {
        host: "127.0.0.1".to_owned(),
        concurrency: Some(8),
        min_spacing_ms: Some(0),
    }];
    c.feeds = feeds
        .iter()
        .map(|(url, source, wire)| FeedConfig {
            url: (*url).to_owned(),
            source: (*source).to_owned(),
            wire: *wire,
            full_text: false,
        })
        .collect();
    c
}

/// Every feed of an app's database, by URL.
pub async fn feeds_by_url(app: &App) -> HashMap<String, FeedInfo> {
    app.store()
        .list_feeds()
        .await
        .expect("list feeds")
        .into_iter()
        .map(|f| (f.url.clone(), f))
        .collect()
}

/// Every stored story of an app's database, newest first.
pub async fn all_stories(app: &App) -> Vec<wirefeed::store::StoredStory> {
    app.store()
        .stories(&wirefeed::store::StoryQuery {
            limit: 10_000,
            ..wirefeed::store::StoryQuery::default()
        })
        .await
        .expect("read stories")
}

/// The story with this title.
pub fn by_title<'a>(
    stories: &'a [wirefeed::store::StoredStory],
    title: &str,
) -> &'a wirefeed::store::StoredStory {
    stories
        .iter()
        .find(|s| s.title == title)
        .unwrap_or_else(|| panic!("no story titled {title:?}"))
}

/// The story with this key.
pub fn by_key<'a>(
    stories: &'a [wirefeed::store::StoredStory],
    key: &str,
) -> &'a wirefeed::store::StoredStory {
    stories
        .iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no story keyed {key}"))
}

/// A TCP forwarder in front of a real server (PostgreSQL), to cut the network between the daemon
/// and its database and bring it back: while cut, every open connection is closed and new ones
/// are refused (the listener is gone), as when the server is down.
pub struct TcpProxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    /// Bumped on every cut: forwarders of an older generation stop.
    generation: tokio::sync::watch::Sender<u64>,
    accept: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl TcpProxy {
    /// A proxy on a free loopback port forwarding to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (generation, _) = tokio::sync::watch::channel(0);
        let proxy = TcpProxy {
            addr,
            target,
            generation,
            accept: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let target = self.target;
        let gen = self.generation.subscribe();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mut gen = gen.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = gen.changed() => {}
                    }
                });
            }
        });
        *self.accept.lock().expect("proxy") = Some(task);
    }

    /// Cuts the network: open connections close, new ones are refused.
    pub fn cut(&self) {
        if let Some(task) = self.accept.lock().expect("proxy").take() {
            task.abort();
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Brings the network back on the same address.
    pub async fn restore(&self) {
        // The aborted accept task drops its listener on its next poll; retry until the port
        // is free again.
        for _ in 0..100 {
            if let Ok(l) = tokio::net::TcpListener::bind(self.addr).await {
                self.serve(l);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("cannot listen on {} again", self.addr);
    }

    /// `url` (a postgres:// URL) pointed at this proxy.
    pub fn url_for(&self, url: &str) -> String {
        let mut u = url::Url::parse(url).expect("database URL");
        u.set_host(Some("127.0.0.1")).expect("host");
        u.set_port(Some(self.addr.port())).expect("port");
        u.to_string()
    }
}

/// The address a postgres:// URL points at.
pub fn pg_addr(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let u = url::Url::parse(url).expect("database URL");
    (
        u.host_str().unwrap_or("127.0.0.1"),
        u.port().unwrap_or(5432),
    )
        .to_socket_addrs()
        .expect("resolve database host")
        .next()
        .expect("an address")
}
