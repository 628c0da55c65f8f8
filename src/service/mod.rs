//! Running as a service: systemd's notify protocol (READY, STATUS, WATCHDOG, STOPPING), the
//! admin HTTP listener (`/healthz`, `/readyz`, `/metrics`) and the counters behind it.
//!
//! Never: decides what the daemon does; it reports on it, through the [`Observed`] view the daemon
//! gives of itself (so this module does not depend on the daemon; the daemon depends on it for its
//! counters). The notify socket protocol is spoken directly (one datagram per message), so no
//! systemd library is needed.

pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tracing::{debug, info, warn};

/// What the service layer reads of the daemon it reports on.
pub trait Observed: Clone + Send + Sync + 'static {
    /// Its counters.
    fn counters(&self) -> &metrics::Metrics;
    /// How often the scheduler loop turns when nothing is due (`daemon.tick_secs`).
    fn tick(&self) -> Duration;
    /// Whether the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), String>> + Send;
    /// Feed counts by state and the scheduler's lag, from the database.
    fn gauges(&self) -> impl Future<Output = Result<metrics::DbGauges, String>> + Send;
}

/// systemd's notify socket, when the service manager gave one (`NOTIFY_SOCKET`).
#[derive(Debug)]
pub struct Notifier {
    socket: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
}

impl Notifier {
    /// From `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket); inert without it.
    pub fn from_env() -> Notifier {
        let socket = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let addr = if let Some(name) = path.strip_prefix('@') {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).ok()?
            } else {
                std::os::unix::net::SocketAddr::from_pathname(&path).ok()?
            };
            let sock = UnixDatagram::unbound().ok()?;
            Some((sock, addr))
        });
        Notifier { socket }
    }

    /// True when there is a socket to talk to.
    pub fn enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends one message (`READY=1`, `STATUS=...`); a failure is logged, never fatal.
    pub fn notify(&self, msg: &str) {
        if let Some((sock, addr)) = &self.socket {
            if let Err(e) = sock.send_to_addr(msg.as_bytes(), addr) {
                debug!(error = %e, "systemd notify failed");
            }
        }
    }

    /// Half of `WATCHDOG_USEC` when the watchdog is on for this process (`WATCHDOG_PID` unset
    /// or ours).
    pub fn watchdog_interval() -> Option<Duration> {
        if let Ok(pid) = std::env::var("WATCHDOG_PID") {
            if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
                return None;
            }
        }
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
        (usec > 0).then(|| Duration::from_micros(usec / 2))
    }
}

/// How stale the scheduler loop's last turn may be before the daemon counts as stuck.
fn loop_deadline(app: &impl Observed) -> Duration {
    app.tick().saturating_mul(3).max(Duration::from_secs(30))
}

/// True when the scheduler loop has turned recently.
fn scheduler_alive(app: &impl Observed) -> bool {
    let at = app
        .counters()
        .loop_at_ms
        .load(std::sync::atomic::Ordering::Relaxed);
    if at == 0 {
        return false;
    }
    let age = chrono::Utc::now().timestamp_millis() - at;
    age >= 0 && (age as u128) < loop_deadline(app).as_millis()
}

/// Whether the daemon can do its work: the database answers and the scheduler turns.
pub async fn ready(app: &impl Observed) -> Result<(), String> {
    app.ping().await.map_err(|e| format!("database: {e}"))?;
    if !scheduler_alive(app) {
        return Err("scheduler: no turn of the loop recently".to_owned());
    }
    Ok(())
}

/// Pings the watchdog at half its interval while [`ready`] holds, and says what the daemon is
/// doing in STATUS= lines (feeds due, stories stored in the last minute). Runs until dropped.
pub async fn supervise(app: impl Observed, notifier: Arc<Notifier>) {
    let watchdog = Notifier::watchdog_interval();
    let every = watchdog
        .unwrap_or(Duration::from_secs(10))
        .min(Duration::from_secs(10));
    let mut tick = tokio::time::interval(every);
    let mut last_stories = app.counters().stories_new();
    let mut last_at = std::time::Instant::now();
    let mut per_minute = 0.0;
    loop {
        tick.tick().await;
        let health = ready(&app).await;
        if watchdog.is_some() {
            match &health {
                Ok(()) => notifier.notify("WATCHDOG=1"),
                Err(e) => warn!(reason = %e, "not pinging the watchdog"),
            }
        }
        let now = app.counters().stories_new();
        let secs = last_at.elapsed().as_secs_f64().max(1.0);
        if secs >= 60.0 || per_minute == 0.0 {
            per_minute = (now - last_stories) as f64 * 60.0 / secs;
            if secs >= 60.0 {
                last_stories = now;
                last_at = std::time::Instant::now();
            }
        }
        let due = app.gauges().await.ok();
        let status = match (&health, due) {
            (Err(e), _) => format!("STATUS=degraded: {e}"),
            (Ok(()), Some(g)) => format!(
                "STATUS=polling: {} feeds active, most overdue {:.0} s; {:.0} stories stored in the last minute",
                g.feeds_by_state
                    .iter()
                    .find(|(s, _)| s == "active")
                    .map_or(0, |(_, n)| *n),
                g.scheduler_lag_secs,
                per_minute
            ),
            (Ok(()), None) => "STATUS=polling".to_owned(),
        };
        notifier.notify(&status);
    }
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `addr` until the process ends.
pub async fn serve_admin<A: Observed>(app: A, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    info!(addr = %listener.local_addr()?, "admin listener started");
    let router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz::<A>))
        .route("/metrics", get(metrics_text::<A>))
        .with_state(app);
    axum::serve(listener, router).await
}

async fn readyz<A: Observed>(State(app): State<A>) -> impl IntoResponse {
    match ready(&app).await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")),
    }
}

async fn metrics_text<A: Observed>(State(app): State<A>) -> impl IntoResponse {
    let gauges = match app.gauges().await {
        Ok(g) => g,
        Err(e) => {
            warn!(error = %e, "metrics: cannot read feed gauges");
            metrics::DbGauges::default()
        }
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.counters().render(&gauges),
    )
}
