//! What differs between the two databases, and nothing else: connecting, how an instant is
//! encoded (PostgreSQL `timestamptz`; SQLite fixed-width RFC 3339 text), how a list is bound (an
//! array parameter; a JSON array read with `json_each`), how a write transaction begins (SQLite:
//! `BEGIN IMMEDIATE`, its single writer), the cluster lock (PostgreSQL:
//! `pg_advisory_xact_lock`; SQLite: the writer already is one), and claiming feeds (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`). The store's one implementation (`sql.rs`) is compiled once for each
//! module here, as `d`. Never: holds a query the two databases could share.

/// PostgreSQL.
pub(super) mod pg {
    use std::str::FromStr;
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
    use sqlx::{Connection, PgConnection};

    use crate::config::redact_url;
    use crate::store::open::{pg_problem, PgTarget, Resolved};
    use crate::store::StoreError;

    /// How long connecting may take.
    const CONNECT_WITHIN: Duration = Duration::from_secs(10);

    pub type Db = sqlx::Postgres;
    pub type Pool = sqlx::PgPool;
    pub type Conn = sqlx::PgConnection;
    /// An instant as bound and read.
    pub type Time = DateTime<Utc>;

    /// The larger of two values.
    pub const GREATEST: &str = "greatest";
    /// Rows per multi-row statement: 19 binds a row stays far below the 65,535-bind limit.
    pub const BATCH_ROWS: usize = 1000;
    /// Claimed rows are locked so that concurrent daemons claim different feeds.
    pub const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
    /// Rows read to be rewritten are locked until commit.
    pub const FOR_UPDATE: &str = " FOR UPDATE";

    /// The advisory lock placement takes, so daemons sharing the database place new stories in
    /// clusters one batch at a time.
    const CLUSTER_LOCK: i64 = 0x7769_7265_6665_6564; // "wirefeed"

    /// A pool on `url`, after one direct connection whose failure is named precisely
    /// ("connection refused by host:port", "unknown host", "authentication failed for user",
    /// a TLS failure, a database that does not exist), at once rather than as the pool's
    /// timeout.
    pub async fn connect(url: &str, max: u32) -> Result<Pool, StoreError> {
        open(url, max, false).await
    }

    /// A pool for the read commands, its failures named as [`connect`] names them: every
    /// session is `default_transaction_read_only`, so a statement that would write fails
    /// instead of writing.
    pub async fn connect_read_only(url: &str, max: u32) -> Result<Pool, StoreError> {
        open(url, max, true).await
    }

    async fn open(url: &str, max: u32, read_only: bool) -> Result<Pool, StoreError> {
        let fail = |reason: String, cause: sqlx::Error| StoreError::Connect {
            url: redact_url(url),
            reason,
            cause,
        };
        let mut opts = PgConnectOptions::from_str(url).map_err(|e| {
            let reason = match &e {
                sqlx::Error::Configuration(c) => format!("invalid database URL: {c}"),
                other => format!("invalid database URL: {other}"),
            };
            fail(reason, e)
        })?;
        // sqlx defaults to sslmode=prefer, which negotiates TLS even on loopback and slows
        // batched writes; a loopback or Unix-socket connection gains nothing from TLS.
        if !url.contains("sslmode=") && is_local_host(opts.get_host()) {
            opts = opts.ssl_mode(PgSslMode::Disable);
        }
        // Notices are for people at a prompt: the migrator's "relation _sqlx_migrations already
        // exists, skipping" would otherwise be logged at INFO at every start.
        if !url.contains("client_min_messages") {
            opts = opts.options([("client_min_messages", "warning")]);
        }
        if read_only {
            opts = opts.options([("default_transaction_read_only", "on")]);
        }
        let target = PgTarget::of(&opts);
        let problem = |e: sqlx::Error| async {
            let resolved = match &e {
                sqlx::Error::Io(_) => resolves(&opts).await,
                _ => Resolved::Unknown,
            };
            fail(pg_problem(&e, &target, resolved), e)
        };
        // One direct connection first: its error names the cause where the pool, which retries
        // until its acquire timeout, would only say it timed out.
        let first = tokio::time::timeout(CONNECT_WITHIN, PgConnection::connect_with(&opts))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut));
        match first {
            Ok(c) => {
                let _ = c.close().await;
            }
            Err(e) => return Err(problem(e).await),
        }
        match PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(CONNECT_WITHIN)
            .connect_with(opts.clone())
            .await
        {
            Ok(pool) => Ok(pool),
            Err(e) => Err(problem(e).await),
        }
    }

    /// Why the pool's database cannot be reached, found by one direct connection: the pool
    /// retries a refused connection until its acquire timeout and then says only that it timed
    /// out. `None` when the database answers now.
    pub async fn diagnose(p: &Pool) -> Option<StoreError> {
        let opts = p.connect_options();
        let attempt = tokio::time::timeout(CONNECT_WITHIN, PgConnection::connect_with(&opts))
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut));
        match attempt {
            Ok(c) => {
                let _ = c.close().await;
                None
            }
            Err(e) => {
                let target = PgTarget::of(&opts);
                let resolved = match &e {
                    sqlx::Error::Io(_) => resolves(&opts).await,
                    _ => Resolved::Unknown,
                };
                Some(StoreError::Connect {
                    url: format!(
                        "postgres://{}@{}/{}",
                        target.user, target.address, target.database
                    ),
                    reason: pg_problem(&e, &target, resolved),
                    cause: e,
                })
            }
        }
    }

    /// Whether the host of `opts` resolves, asked after an I/O error (to the driver a failed
    /// lookup and a failed connect are both I/O errors).
    async fn resolves(opts: &PgConnectOptions) -> Resolved {
        let host = opts.get_host();
        if host.starts_with('/') || opts.get_socket().is_some() {
            return Resolved::Unknown;
        }
        let lookup = tokio::net::lookup_host((host.trim_matches(['[', ']']), opts.get_port()));
        match tokio::time::timeout(Duration::from_secs(5), lookup).await {
            Ok(Ok(mut addrs)) => match addrs.next() {
                Some(_) => Resolved::Yes,
                None => Resolved::No,
            },
            Ok(Err(_)) => Resolved::No,
            Err(_) => Resolved::Unknown,
        }
    }

    fn is_local_host(host: &str) -> bool {
        host.starts_with('/')
            || host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    pub fn time(t: DateTime<Utc>) -> Time {
        t
    }

    pub fn read_time(t: Option<Time>) -> Option<DateTime<Utc>> {
        t
    }

    /// A list as one bound parameter.
    pub fn list<T>(v: &[T]) -> &[T] {
        v
    }

    /// `col` is in the list bound as parameter `$n`.
    pub fn in_list(col: &str, n: usize) -> String {
        format!("{col} = ANY(${n})")
    }

    pub async fn begin(p: &Pool) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        p.begin().await
    }

    /// A refresh's transaction. It commits without waiting for the WAL flush
    /// (`synchronous_commit = off`, this transaction only): the cluster lock is held through
    /// the commit, so waiting for the disk there would make every daemon's refreshes queue on
    /// one flush each. A crash of the database server can lose the last fraction of a second of
    /// refreshes, whole (never part of one, never corrupting): those feeds keep their previous
    /// state and validators, so their next poll fetches and stores the same stories again.
    pub async fn begin_refresh(p: &Pool) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        let mut tx = p.begin().await?;
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Takes the cluster lock until the transaction ends.
    pub async fn lock_clusters(tx: &mut Conn) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CLUSTER_LOCK)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// A transaction PostgreSQL failed to break a deadlock or a serialization conflict: worth
    /// running again.
    pub fn is_retryable(e: &sqlx::Error) -> bool {
        e.as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|c| c == "40P01" || c == "40001")
    }
}

/// SQLite.
pub(super) mod lite {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::str::FromStr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    use sqlx::pool::PoolConnection;
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };

    use crate::config::redact_url;
    use crate::store::open::{sqlite_io_problem, sqlite_problem};
    use crate::store::{DaemonLock, StoreError};

    pub type Db = sqlx::Sqlite;
    pub type Pool = sqlx::SqlitePool;
    pub type Conn = sqlx::SqliteConnection;
    /// An instant as bound and read: `model::db_time` text, so text order is time order.
    pub type Time = String;

    pub const GREATEST: &str = "max";
    /// Rows per multi-row statement: 19 binds a row stays below the 32,766-bind limit.
    pub const BATCH_ROWS: usize = 1000;
    /// One daemon per file (see `lock_for_daemon`): no row locking.
    pub const SKIP_LOCKED: &str = "";
    /// The single writer, held since `begin`, already excludes every other.
    pub const FOR_UPDATE: &str = "";

    /// A pool on the file `url` names, created if missing; a failure names its cause (a
    /// missing directory, a permission denied, with the path and the fix).
    pub async fn connect(url: &str, max: u32) -> Result<Pool, StoreError> {
        let fail = |reason: String, cause: sqlx::Error| StoreError::Connect {
            url: redact_url(url),
            reason,
            cause,
        };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| fail(format!("invalid database URL: {e}"), e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let path = opts.get_filename().to_path_buf();
        SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| fail(sqlite_problem(&e, &path, false), e))
    }

    /// A pool for the read commands: the file opened `SQLITE_OPEN_READONLY`, never created,
    /// and no pragma that writes (the journal mode is whatever the daemon left). `immutable`
    /// opens it as a file nobody writes, without locks or a `-shm` file: what reading a WAL
    /// database in a directory the reader cannot write takes when no `-wal` file exists (no
    /// writer has it open), see [`needs_immutable`].
    pub async fn connect_read_only(
        url: &str,
        max: u32,
        immutable: bool,
    ) -> Result<Pool, StoreError> {
        let fail = |reason: String, cause: sqlx::Error| StoreError::Connect {
            url: redact_url(url),
            reason,
            cause,
        };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| fail(format!("invalid database URL: {e}"), e))?
            .read_only(true)
            .immutable(immutable)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(10));
        let path = opts.get_filename().to_path_buf();
        SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| fail(sqlite_problem(&e, &path, true), e))
    }

    /// True when a read-only connection to `file` failed only because SQLite could not create
    /// the `-shm` file of a WAL database next to it (a directory the reader may not write:
    /// `SQLITE_READONLY_DIRECTORY`, or `SQLITE_CANTOPEN`), and no `-wal` file exists, so no
    /// writer has the database open and reading the file as immutable reads all of it.
    pub fn needs_immutable(e: &sqlx::Error, file: &std::path::Path) -> bool {
        let code = e.as_database_error().and_then(|d| d.code());
        let mut wal = file.as_os_str().to_owned();
        wal.push("-wal");
        code.is_some_and(|c| c == "1544" || c == "14") && !std::path::Path::new(&wal).exists()
    }

    pub fn time(t: DateTime<Utc>) -> Time {
        crate::model::db_time(t)
    }

    /// Text that is not an instant reads as none.
    pub fn read_time(t: Option<Time>) -> Option<DateTime<Utc>> {
        t.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// A list as one bound parameter: a JSON array.
    pub fn list<T: serde::Serialize>(v: &[T]) -> String {
        serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned())
    }

    /// `col` is in the JSON list bound as parameter `$n`.
    pub fn in_list(col: &str, n: usize) -> String {
        format!("{col} IN (SELECT value FROM json_each(${n}))")
    }

    /// A write transaction, holding the process's turn to write to its database file.
    ///
    /// It runs `BEGIN IMMEDIATE` and `COMMIT` itself on a pooled connection instead of using
    /// sqlx's transaction type: when SQLite fails a statement or a `COMMIT` (disk full, I/O
    /// error), sqlx's rollback-on-drop can leave the pooled connection believing it is still
    /// inside a transaction, and every later `begin` on it fails ("begin_with at non-zero
    /// transaction depth") for as long as the process lives. A transaction that does not commit
    /// cleanly closes its connection instead (SQLite rolls back whatever was open when a
    /// connection closes), and the pool opens a fresh one for the next writer.
    pub struct Tx {
        conn: PoolConnection<Db>,
        committed: bool,
        _turn: tokio::sync::OwnedMutexGuard<()>,
    }

    impl std::ops::Deref for Tx {
        type Target = Conn;
        fn deref(&self) -> &Conn {
            &self.conn
        }
    }

    impl std::ops::DerefMut for Tx {
        fn deref_mut(&mut self) -> &mut Conn {
            &mut self.conn
        }
    }

    impl Tx {
        pub async fn commit(mut self) -> Result<(), sqlx::Error> {
            sqlx::query("COMMIT").execute(&mut *self.conn).await?;
            self.committed = true;
            Ok(())
        }
    }

    impl Drop for Tx {
        fn drop(&mut self) {
            if !self.committed {
                self.conn.close_on_drop();
            }
        }
    }

    /// The turn to write of each database file this process opened.
    static TURNS: std::sync::LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        std::sync::LazyLock::new(Default::default);

    /// Every write transaction begins IMMEDIATE: a deferred one that reads first and then
    /// writes gets SQLITE_BUSY at once (no busy wait) when another writer is active. Writers of
    /// this process first queue for their turn in memory: SQLite's own busy wait sleeps in
    /// steps of up to 100 ms, leaving the file idle between writers, while a queue hands the
    /// turn on at once.
    pub async fn begin(p: &Pool) -> Result<Tx, sqlx::Error> {
        let file = p.connect_options().get_filename().to_path_buf();
        let turn = {
            let mut turns = TURNS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            turns.entry(file).or_default().clone()
        };
        let turn = turn.lock_owned().await;
        let mut conn = p.acquire().await?;
        if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            conn.close_on_drop();
            return Err(e);
        }
        Ok(Tx {
            conn,
            committed: false,
            _turn: turn,
        })
    }

    /// A refresh's transaction: commits do not wait for the disk already
    /// (`synchronous = NORMAL` in WAL mode).
    pub async fn begin_refresh(p: &Pool) -> Result<Tx, sqlx::Error> {
        begin(p).await
    }

    /// The single writer, held since `begin`, is the cluster lock.
    pub async fn lock_clusters(_tx: &mut Conn) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// Nothing to retry: writers queue on the file.
    pub fn is_retryable(_e: &sqlx::Error) -> bool {
        false
    }

    /// The database file a pool opens.
    pub fn file(p: &Pool) -> PathBuf {
        p.connect_options().get_filename().to_path_buf()
    }

    /// The database file a `sqlite:` URL names (`None` for an in-memory database).
    pub fn file_of_url(url: &str) -> Result<Option<PathBuf>, sqlx::Error> {
        let opts = SqliteConnectOptions::from_str(url)?;
        let file = opts.get_filename();
        let in_memory = file.as_os_str().is_empty()
            || file == std::path::Path::new(":memory:")
            || url.contains("mode=memory");
        Ok((!in_memory).then(|| file.to_path_buf()))
    }

    /// Locks the database file itself exclusively, without waiting, creating it (empty: SQLite
    /// takes an empty file as a new database) if missing. The lock is on the file, not on a
    /// path spelling: a symlink or a hard link to the same file meets the same lock. SQLite
    /// takes its own locks with `fcntl` byte ranges, which do not conflict with this `flock`.
    pub fn lock_file(db: &std::path::Path) -> Result<DaemonLock, StoreError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(db)
            .map_err(|e| {
                StoreError::Locked(format!(
                    "cannot open the database: {}",
                    sqlite_io_problem(&e, db, false)
                ))
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DaemonLock::new(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
                "another wirefeed daemon is using {}; SQLite serves one daemon at a time: stop \
                 the other one, or use PostgreSQL to run several",
                db.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Locked(format!(
                "cannot lock {}: {e}",
                db.display()
            ))),
        }
    }
}
