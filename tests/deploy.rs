//! What ships in `deploy/` agrees with the daemon: the alert rules and the dashboard name only
//! metrics and labels that `/metrics` exports, the packaged config is the shipped one with its
//! database in the state directory, the unit agrees with the package, and the daemon asks
//! systemd for its grace period when it stops, so `TimeoutStopSec=` never cuts a drain short.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{FeedServer, Route, TestDb};
use wirefeed::model::{FeedStatus, Outcome};
use wirefeed::service::metrics::{DbGauges, Metrics};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// The exported series: metric name -> label name -> values seen. Rendered in process with
/// every outcome, status class and feed state, so every label value the daemon can export
/// appears.
fn exported() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let m = Metrics::default();
    for outcome in Outcome::ALL {
        for status in [None, Some(100), Some(200), Some(304), Some(404), Some(503)] {
            m.fetch(*outcome, status, 10, 10);
        }
    }
    m.stored(1, 1, 1, 1);
    m.merged(1);
    m.database_error();
    let gauges = DbGauges {
        feeds_by_state: FeedStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), 1))
            .collect(),
        scheduler_lag_secs: 1.0,
        most_overdue: None,
    };
    let text = m.render(&gauges, true);
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let sample = regex::Regex::new(r#"^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? \S+$"#).expect("regex");
    let pair = regex::Regex::new(r#"([a-z_]+)="([^"]*)""#).expect("regex");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let caps = sample
            .captures(line)
            .unwrap_or_else(|| panic!("not a sample line: {line}"));
        let labels = out.entry(caps[1].to_owned()).or_default();
        if let Some(set) = caps.get(2) {
            for p in pair.captures_iter(set.as_str()) {
                labels
                    .entry(p[1].to_owned())
                    .or_default()
                    .insert(p[2].to_owned());
            }
        }
    }
    assert!(
        out.len() >= 10,
        "too few metrics rendered: {:?}",
        out.keys()
    );
    out
}

/// Every problem with the metric selectors and grouping labels in `exprs`.
fn check_exprs(
    origin: &str,
    exprs: &[String],
    exported: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
) -> Vec<String> {
    let selector = regex::Regex::new(r"\b(wirefeed_[a-z0-9_]+)(\{[^}]*\})?").expect("regex");
    let matcher =
        regex::Regex::new(r#"^\s*([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*$"#).expect("regex");
    let grouping =
        regex::Regex::new(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
            .expect("regex");
    let all_labels: BTreeSet<&str> = exported
        .values()
        .flat_map(|l| l.keys().map(String::as_str))
        .chain(TARGET_LABELS)
        .collect();
    let mut problems = Vec::new();
    let mut names = 0;
    for expr in exprs {
        for caps in selector.captures_iter(expr) {
            names += 1;
            let name = &caps[1];
            let Some(labels) = exported.get(name) else {
                problems.push(format!("{origin}: `{name}` is not exported (in `{expr}`)"));
                continue;
            };
            let Some(set) = caps.get(2) else { continue };
            let inner = set.as_str().trim_start_matches('{').trim_end_matches('}');
            for m in inner.split(',').filter(|m| !m.trim().is_empty()) {
                let Some(mc) = matcher.captures(m) else {
                    problems.push(format!("{origin}: cannot read matcher `{m}` in `{expr}`"));
                    continue;
                };
                let (label, op, value) = (&mc[1], &mc[2], &mc[3]);
                if TARGET_LABELS.contains(&label) {
                    continue;
                }
                let Some(values) = labels.get(label) else {
                    problems.push(format!("{origin}: `{name}` has no label `{label}`"));
                    continue;
                };
                let wanted: Vec<&str> = if op.ends_with('~') {
                    value.split('|').collect()
                } else {
                    vec![value]
                };
                for v in wanted {
                    if !values.contains(v) {
                        problems.push(format!(
                            "{origin}: `{name}` never has {label}=\"{v}\" (it has {values:?})"
                        ));
                    }
                }
            }
        }
        for caps in grouping.captures_iter(expr) {
            for label in caps[1].split(',').map(str::trim).filter(|l| !l.is_empty()) {
                if !all_labels.contains(label) {
                    problems.push(format!(
                        "{origin}: grouping by `{label}`, which no metric has (in `{expr}`)"
                    ));
                }
            }
        }
    }
    if names == 0 {
        problems.push(format!("{origin}: no wirefeed_ metric at all"));
    }
    problems
}

/// The PromQL expressions of an alert rules file: each `expr:` value, folded (`>-`) or inline.
fn rule_exprs(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let rest = rest.trim();
        if rest.starts_with('>') || rest.starts_with('|') {
            let mut expr = String::new();
            while let Some(next) = lines.peek() {
                let next_indent = next.len() - next.trim_start().len();
                if next.trim().is_empty() || next_indent <= indent {
                    break;
                }
                expr.push_str(next.trim());
                expr.push(' ');
                lines.next();
            }
            out.push(expr.trim().to_owned());
        } else {
            out.push(rest.to_owned());
        }
    }
    out
}

#[test]
fn the_alert_rules_name_only_exported_metrics_and_each_says_how_bad_and_why() {
    let yaml = read("deploy/prometheus/wirefeed-alerts.yml");
    let exprs = rule_exprs(&yaml);
    let alerts: Vec<&str> = yaml.split("\n      - alert: ").skip(1).collect();
    assert!(alerts.len() >= 8, "{} alerts", alerts.len());
    assert_eq!(exprs.len(), alerts.len(), "one expr per alert: {exprs:?}");
    let problems = check_exprs("wirefeed-alerts.yml", &exprs, &exported());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut names = BTreeSet::new();
    for alert in &alerts {
        let name = alert.lines().next().unwrap_or_default().trim();
        assert!(name.starts_with("Wirefeed"), "alert name `{name}`");
        assert!(names.insert(name), "alert {name} twice");
        for key in ["expr:", "for:", "severity:", "summary:", "description:"] {
            assert!(alert.contains(key), "alert {name} has no `{key}`");
        }
        let severity = alert
            .lines()
            .find_map(|l| l.trim().strip_prefix("severity:"))
            .map(str::trim)
            .unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "alert {name}: severity `{severity}`"
        );
    }
    // The daemon being unreachable is the first thing to know.
    assert!(exprs
        .iter()
        .any(|e| e.starts_with("up{job=\"wirefeed\"} == 0")));
}

#[test]
fn the_expression_check_catches_unknown_metrics_labels_and_values() {
    let exported = exported();
    let bad = [
        "rate(wirefeed_polls_total[5m])".to_owned(),
        "wirefeed_fetches_total{kind=\"dns\"}".to_owned(),
        "wirefeed_fetches_total{outcome=~\"error|timeout\"}".to_owned(),
        "sum by (error_kind) (wirefeed_database_errors_total)".to_owned(),
    ];
    let problems = check_exprs("test", &bad, &exported);
    for want in [
        "`wirefeed_polls_total` is not exported",
        "has no label `kind`",
        "never has outcome=\"timeout\"",
        "grouping by `error_kind`",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(want)),
            "{want} not reported: {problems:?}"
        );
    }
    let good = ["sum by (instance, outcome) (rate(wirefeed_fetches_total{job=\"wirefeed\", outcome=~\"fetched|not_modified\", status_class!=\"5xx\"}[5m]))".to_owned()];
    assert_eq!(check_exprs("test", &good, &exported), Vec::<String>::new());
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_exprs(i, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_is_valid_json_whose_panels_query_exported_metrics() {
    let text = read("deploy/grafana/wirefeed.json");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dash["uid"], "wirefeed");
    let panels = dash["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut queried = 0;
    for p in panels {
        let title = p["title"].as_str().expect("every panel has a title");
        assert!(
            ids.insert(p["id"].as_u64().expect("id")),
            "{title}: id twice"
        );
        for k in ["x", "y", "w", "h"] {
            assert!(p["gridPos"][k].is_u64(), "{title}: gridPos.{k}");
        }
        if p["type"] == "row" {
            continue;
        }
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            assert!(t["expr"].as_str().is_some_and(|e| !e.is_empty()), "{title}");
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        queried += 1;
    }
    assert!(queried >= 12, "{queried} panels with queries");
    let mut exprs = Vec::new();
    collect_exprs(&dash, &mut exprs);
    let problems = check_exprs("wirefeed.json", &exprs, &exported());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The operator's questions: polls by outcome, stories new and updated, failures, durations,
    // merges.
    for name in [
        "wirefeed_fetches_total",
        "wirefeed_stories_stored_total",
        "wirefeed_stories_updated_total",
        "wirefeed_fetch_duration_seconds_bucket",
        "wirefeed_cluster_merges_total",
        "wirefeed_database_errors_total",
        "wirefeed_scheduler_lag_seconds",
        "wirefeed_feeds",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(&format!("{name}{{"))),
            "no panel shows {name}"
        );
    }
}

#[test]
fn the_packaged_config_is_the_shipped_one_with_its_database_in_the_state_directory() {
    let shipped = read("config/wirefeed.toml");
    let packaged = read("deploy/debian/wirefeed.toml");
    let from = "url = \"sqlite://wirefeed.db\"\n";
    let to = "url = \"sqlite:///var/lib/wirefeed/wirefeed.db\"\n";
    assert_eq!(
        shipped.matches(from).count(),
        1,
        "config/wirefeed.toml's url line changed"
    );
    assert!(
        shipped.replacen(from, to, 1) == packaged,
        "deploy/debian/wirefeed.toml must be config/wirefeed.toml with only its database URL \
         changed; regenerate it with\n  sed 's|^url = \"sqlite://wirefeed.db\"$|url = \
         \"sqlite:///var/lib/wirefeed/wirefeed.db\"|' config/wirefeed.toml > \
         deploy/debian/wirefeed.toml"
    );
    let config = wirefeed::config::Config::parse(&packaged, "packaged").expect("parses");
    config.validate("packaged").expect("valid");
    assert_eq!(
        config.database.url,
        "sqlite:///var/lib/wirefeed/wirefeed.db"
    );
}

/// `Key=value` lines of a unit's `[Service]` section.
fn service_keys(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_service = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if let (true, Some((k, v))) = (in_service, line.split_once('=')) {
            if !line.starts_with('#') {
                keys.entry(k.to_owned()).or_default().push(v.to_owned());
            }
        }
    }
    keys
}

fn secs(value: &str) -> u64 {
    let n = value.trim_end_matches('s');
    n.parse()
        .unwrap_or_else(|_| panic!("`{value}`: write it in seconds"))
}

#[test]
fn the_unit_agrees_with_the_package_and_covers_the_default_grace() {
    let unit = read("deploy/wirefeed.service");
    let keys = service_keys(&unit);
    let one = |k: &str| -> &str {
        match keys.get(k).map(Vec::as_slice) {
            Some([v]) => v,
            other => panic!("{k}: {other:?}"),
        }
    };
    assert_eq!(
        one("ExecStart"),
        "/usr/bin/wirefeed run --config /etc/wirefeed/wirefeed.toml"
    );
    assert_eq!(one("Type"), "notify");
    assert_eq!(one("User"), "wirefeed");
    assert_eq!(one("Group"), "wirefeed");
    assert_eq!(one("StateDirectory"), "wirefeed");
    assert_eq!(one("WorkingDirectory"), "/var/lib/wirefeed");
    assert!(
        !keys.contains_key("DynamicUser"),
        "the package makes a static user"
    );
    let postinst = read("deploy/debian/postinst");
    assert!(postinst.contains("#DEBHELPER#"));
    assert!(postinst.contains("useradd --system --gid wirefeed --home-dir /var/lib/wirefeed"));
    let cargo = read("Cargo.toml");
    assert!(
        cargo.contains(r#"["deploy/debian/wirefeed.toml", "etc/wirefeed/wirefeed.toml", "644"]"#)
    );
    assert!(cargo.contains(r#"unit-name = "wirefeed", unit-scripts = "deploy/""#));

    // A daemon that cannot say how long it needs (it hangs before reading its signal) still gets
    // the default grace and the margin.
    let default_grace = wirefeed::config::DaemonConfig::default().shutdown_grace_secs;
    let margin = wirefeed::service::STOP_MARGIN.as_secs();
    assert!(
        secs(one("TimeoutStopSec")) >= default_grace + margin,
        "TimeoutStopSec={} < grace {default_grace} + margin {margin}",
        one("TimeoutStopSec")
    );
    assert!(secs(one("WatchdogSec")) >= 20);
}

fn wait_notify(
    sock: &std::os::unix::net::UnixDatagram,
    want: &str,
    seen: &mut Vec<String>,
    within: Duration,
) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l.starts_with(want));
            seen.push(msg);
            if hit {
                return true;
            }
        }
    }
    false
}

/// SIGTERM while a refresh is in flight: the daemon says STOPPING=1, then asks systemd for its
/// grace period plus the margin (EXTEND_TIMEOUT_USEC=), waits out the grace for the refresh,
/// abandons it and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_asks_systemd_for_the_grace_period_and_the_margin() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FeedServer::start().await;
    // A body that takes minutes: the refresh is in flight whenever the signal comes.
    let slow = server.route(
        "/slow.xml",
        Route::Trickle {
            bytes: 100_000,
            every_ms: 100,
        },
    );
    let grace_secs = 2;
    let config = dir.path().join("wirefeed.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n[fetch]\nallow_private_networks = true\ntimeout_secs = 120\n\
             [daemon]\ntick_secs = 1\nshutdown_grace_secs = {grace_secs}\n\
             [[feeds]]\nurl = \"{slow}\"\nsource = \"Slow\"\n",
            db.url
        ),
    )
    .expect("config");
    let notify_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&notify_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirefeed"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("WIREFEED_DATABASE_URL")
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    let mut seen = Vec::new();
    let ready = tokio::task::block_in_place(|| {
        wait_notify(&sock, "READY=1", &mut seen, Duration::from_secs(20))
    });
    assert!(ready, "{seen:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests("/slow.xml") == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.requests("/slow.xml"),
        1,
        "the slow feed is being fetched"
    );

    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let stopping = tokio::task::block_in_place(|| {
        wait_notify(&sock, "STOPPING=1", &mut seen, Duration::from_secs(10))
    });
    assert!(stopping, "{seen:?}");
    let extend = tokio::task::block_in_place(|| {
        wait_notify(
            &sock,
            "EXTEND_TIMEOUT_USEC=",
            &mut seen,
            Duration::from_secs(10),
        )
    });
    assert!(extend, "{seen:?}");
    let want = (grace_secs + wirefeed::service::STOP_MARGIN.as_secs()) * 1_000_000;
    let extends: Vec<&String> = seen
        .iter()
        .filter(|m| m.contains("EXTEND_TIMEOUT_USEC="))
        .collect();
    assert_eq!(
        extends,
        [&format!("EXTEND_TIMEOUT_USEC={want}")],
        "one extension, of the grace plus the margin: {seen:?}"
    );
    // STOPPING=1 comes first, so the extension applies to the stop timer (a STATUS= line from
    // the supervisor may come between them).
    let stop_at = seen.iter().position(|m| m.contains("STOPPING=1"));
    let extend_at = seen.iter().position(|m| m.contains("EXTEND_TIMEOUT_USEC="));
    assert!(stop_at < extend_at, "{seen:?}");

    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(grace_secs + 10),
            "the daemon did not stop after its grace period"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0));
    // It waited for the in-flight refresh for the grace period, then abandoned it.
    assert!(
        took >= Duration::from_millis(grace_secs * 1000 - 300),
        "stopped after {took:?}, before its grace period of {grace_secs} s"
    );
}
