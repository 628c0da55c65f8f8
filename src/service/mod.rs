//! Running as a service: systemd's notify protocol (READY, STATUS, WATCHDOG, STOPPING and its
//! stop timeout), the admin HTTP listener (`/healthz`, `/readyz`, `/metrics`) and the counters
//! behind it.
//!
//! Never: decides what the daemon does; it reports on it, through the [`Observed`] view the daemon
//! gives of itself (so this module does not depend on the daemon; the daemon depends on it for its
//! counters). The notify socket protocol is spoken directly (one datagram per message), so no
//! systemd library is needed.

pub mod metrics;

use std::future::{Future, IntoFuture};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tracing::{debug, warn};

use crate::config::ListenAddr;

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

/// What stopping may take beyond the grace period: abandoned feeds handed back, the last feed
/// states written, the process gone. Part of the stop timeout asked of systemd
/// ([`Notifier::stopping`]).
pub const STOP_MARGIN: Duration = Duration::from_secs(15);

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

    /// Says the daemon is stopping and asks systemd to wait for it: `STOPPING=1`, then
    /// `EXTEND_TIMEOUT_USEC=` of `grace` (the time in-flight refreshes get) plus [`STOP_MARGIN`].
    /// systemd then kills the process no sooner than that, whatever the unit's
    /// `TimeoutStopSec=`, so raising `daemon.shutdown_grace_secs` needs no unit change. Two
    /// datagrams, so the extension applies to the stop timer whichever way the stop began
    /// (`systemctl stop`, or a signal from elsewhere that `STOPPING=1` turns into a stop).
    pub fn stopping(&self, grace: Duration) {
        self.notify("STOPPING=1");
        self.notify(&format!(
            "EXTEND_TIMEOUT_USEC={}",
            grace.saturating_add(STOP_MARGIN).as_micros()
        ));
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

/// How long a health check waits for the database: `/readyz` must answer within a second, so
/// a probe never times out on a database that does not answer.
const PING_WITHIN: Duration = Duration::from_secs(1);

/// Whether the daemon can do its work: the database answers within a second, its writes
/// succeed (a full disk fails writes while reads still answer), and the scheduler turns.
pub async fn ready(app: &impl Observed) -> Result<(), String> {
    match tokio::time::timeout(PING_WITHIN, app.ping()).await {
        Err(_) => {
            return Err(format!(
                "database: no answer within {} s",
                PING_WITHIN.as_secs()
            ))
        }
        Ok(Err(e)) => return Err(format!("database unreachable: {e}")),
        Ok(Ok(())) => {}
    }
    working(app)
}

/// The part of [`ready`] past the database's answer: writes succeed and the scheduler turns.
fn working(app: &impl Observed) -> Result<(), String> {
    app.counters().writes.check()?;
    if !scheduler_alive(app) {
        return Err("scheduler: no turn of the loop recently".to_owned());
    }
    Ok(())
}

/// The database's gauges, or `None` when it does not answer within [`PING_WITHIN`].
async fn gauges_within(app: &impl Observed) -> Option<metrics::DbGauges> {
    match tokio::time::timeout(PING_WITHIN, app.gauges()).await {
        Ok(Ok(g)) => Some(g),
        Ok(Err(e)) => {
            debug!(error = %e, "cannot read feed gauges");
            None
        }
        Err(_) => None,
    }
}

/// Pings the watchdog at half its interval while the scheduler loop turns, and says what the
/// daemon is doing in STATUS= lines (feeds due, stories stored in the last minute, or what is
/// wrong). The watchdog watches the process, not its database: a daemon whose database is
/// down or full keeps turning its loop, reports the fault in STATUS= and `/readyz`, and resumes
/// by itself when the database does; restarting it would not help. Runs until dropped.
pub async fn supervise(app: impl Observed, notifier: Arc<Notifier>) {
    let watchdog = Notifier::watchdog_interval();
    let every = watchdog
        .unwrap_or(Duration::from_secs(10))
        .min(Duration::from_secs(10));
    let mut tick = tokio::time::interval(every);
    // (when, stories stored so far) over the last minute, for the rate.
    let mut samples: std::collections::VecDeque<(std::time::Instant, u64)> =
        std::collections::VecDeque::new();
    loop {
        tick.tick().await;
        if watchdog.is_some() {
            if scheduler_alive(&app) {
                notifier.notify("WATCHDOG=1");
            } else {
                warn!("scheduler loop stalled: not pinging the watchdog");
            }
        }
        let health = ready(&app).await;
        let now = std::time::Instant::now();
        samples.push_back((now, app.counters().stories_new()));
        while samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(60))
        {
            samples.pop_front();
        }
        let per_minute = match (samples.front(), samples.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                (n1 - n0) as f64 * 60.0 / t1.duration_since(*t0).as_secs_f64().max(1.0)
            }
            _ => 0.0,
        };
        let status = match &health {
            Err(e) => format!("STATUS=degraded: {e}"),
            Ok(()) => match gauges_within(&app).await {
                Some(g) => format!(
                    "STATUS=polling: {} feeds active, most overdue {:.0} s; {:.0} stories stored in the last minute",
                    g.feeds_by_state
                        .iter()
                        .find(|(s, _)| s == "active")
                        .map_or(0, |(_, n)| *n),
                    g.scheduler_lag_secs,
                    per_minute
                ),
                None => format!("STATUS=polling: {per_minute:.0} stories stored in the last minute"),
            },
        };
        notifier.notify(&status);
    }
}

/// Binds the admin listener to `addr`. A host name is resolved and every address it has is
/// bound (`localhost` is both 127.0.0.1 and ::1 on most machines, and a scraper may use either);
/// an address the machine does not have (IPv6 turned off) is skipped, any other failure (an
/// address in use) is an error, and so is a name with no address that can be bound.
pub async fn bind_admin(addr: &ListenAddr) -> std::io::Result<Vec<tokio::net::TcpListener>> {
    let addrs: Vec<std::net::SocketAddr> = match &addr.host {
        url::Host::Domain(name) => {
            let mut all: Vec<_> = tokio::net::lookup_host((name.as_str(), addr.port))
                .await?
                .collect();
            all.dedup();
            all
        }
        url::Host::Ipv4(ip) => vec![(*ip, addr.port).into()],
        url::Host::Ipv6(ip) => vec![(*ip, addr.port).into()],
    };
    let mut listeners = Vec::new();
    let mut unavailable = None;
    for a in addrs {
        match tokio::net::TcpListener::bind(a).await {
            Ok(l) => listeners.push(l),
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => unavailable = Some(e),
            Err(e) => return Err(e),
        }
    }
    if listeners.is_empty() {
        return Err(unavailable.unwrap_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no address")
        }));
    }
    Ok(listeners)
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `listeners` until the process ends.
pub async fn serve_admin<A: Observed>(
    app: A,
    listeners: Vec<tokio::net::TcpListener>,
) -> std::io::Result<()> {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz::<A>))
        .route("/metrics", get(metrics_text::<A>))
        .with_state(app);
    let mut serving = Vec::new();
    for listener in listeners {
        // The start-up line names the address; a bind failure is an error.
        debug!(addr = %listener.local_addr()?, "admin listener started");
        serving.push(axum::serve(listener, router.clone()).into_future());
    }
    futures::future::try_join_all(serving).await.map(|_| ())
}

async fn readyz<A: Observed>(State(app): State<A>) -> impl IntoResponse {
    match ready(&app).await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")),
    }
}

async fn metrics_text<A: Observed>(State(app): State<A>) -> impl IntoResponse {
    // Counters are served even while the database does not answer.
    let gauges = gauges_within(&app).await;
    // `/readyz` as a gauge, for alerting: the gauges' query stands in for the ping.
    let ready = gauges.is_some() && working(&app).is_ok();
    let gauges = gauges.unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.counters().render(&gauges, ready),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_admin_listener_binds_a_host_name_and_both_ip_versions() {
        let any_port = |host: url::Host<String>| ListenAddr { host, port: 0 };
        let named = bind_admin(&any_port(url::Host::Domain("localhost".to_owned())))
            .await
            .expect("localhost binds");
        assert!(!named.is_empty());
        for l in &named {
            assert!(l.local_addr().expect("addr").ip().is_loopback());
        }
        let v4 = bind_admin(&any_port(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST)))
            .await
            .expect("127.0.0.1 binds");
        assert_eq!(v4.len(), 1);
        // A connection reaches it: the listener is real.
        let addr = v4[0].local_addr().expect("addr");
        let (connected, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), v4[0].accept());
        connected.expect("connect");
        accepted.expect("accept");
        // IPv6 only where the machine has it.
        if std::net::TcpListener::bind("[::1]:0").is_ok() {
            bind_admin(&any_port(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST)))
                .await
                .expect("[::1] binds");
        }
    }

    #[tokio::test]
    async fn an_admin_address_that_cannot_be_bound_is_an_error() {
        // `.invalid` never resolves (RFC 2606).
        let unknown: ListenAddr = "wirefeed.invalid:9464".parse().expect("valid syntax");
        assert!(bind_admin(&unknown).await.is_err());
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = taken.local_addr().expect("addr").port();
        for busy in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
            let again: ListenAddr = busy.parse().expect("valid syntax");
            assert!(bind_admin(&again).await.is_err(), "{busy} is in use");
        }
    }
}
