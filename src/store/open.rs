//! Why a database could not be opened, in words for the person who must fix it.
//!
//! A driver's own errors name the symptom ("unable to open database file", "error communicating
//! with database: failed to lookup address information") and often repeat their cause. This
//! module turns them into one precise reason: connection refused at host:port, unknown host,
//! authentication failed for a user, a TLS failure, a database that does not exist; for SQLite a
//! missing directory, a permission denied on a named path (with the fix), a missing file for a
//! read-only open. Causes are read from the errors' types and codes, and from the file system
//! itself for SQLite (whose "cannot open" says nothing more), never from message text. Never
//! opens a connection or changes a file.

use std::io;
use std::path::{Path, PathBuf};

/// What a PostgreSQL URL points at, as the messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// `host:port`, or the Unix socket path.
    pub address: String,
    pub user: String,
    pub database: String,
}

impl PgTarget {
    pub(super) fn of(opts: &sqlx::postgres::PgConnectOptions) -> PgTarget {
        let host = opts.get_host();
        let address = match opts.get_socket() {
            Some(dir) => format!("{}/.s.PGSQL.{}", dir.display(), opts.get_port()),
            None if host.starts_with('/') => format!("{host}/.s.PGSQL.{}", opts.get_port()),
            None => format!("{host}:{}", opts.get_port()),
        };
        PgTarget {
            address,
            user: opts.get_username().to_owned(),
            database: opts
                .get_database()
                .unwrap_or(opts.get_username())
                .to_owned(),
        }
    }

    /// The host name alone (empty for a Unix socket).
    fn host(&self) -> &str {
        if self.address.starts_with('/') {
            ""
        } else {
            self.address
                .rsplit_once(':')
                .map_or(self.address.as_str(), |(h, _)| h)
        }
    }
}

/// How a PostgreSQL connection attempt failed, when the I/O error alone does not say: whether
/// the host name resolved (`None`: not checked, or a socket or literal address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Yes,
    No,
    Unknown,
}

/// The reason a connection to PostgreSQL failed, from the driver's error. `resolved` says
/// whether the host name resolves (the caller looks it up after an I/O error: a failed lookup
/// and a failed connect are both I/O errors to the driver).
pub fn pg_problem(e: &sqlx::Error, target: &PgTarget, resolved: Resolved) -> String {
    let at = &target.address;
    match e {
        sqlx::Error::Io(io) => {
            if resolved == Resolved::No {
                return format!(
                    "unknown host `{}`: the name does not resolve (check the host in database.url)",
                    target.host()
                );
            }
            match io.kind() {
                io::ErrorKind::ConnectionRefused => format!(
                    "connection refused by {at} (is PostgreSQL running and listening there?)"
                ),
                io::ErrorKind::NotFound if at.starts_with('/') => format!(
                    "no PostgreSQL socket at {at} (is PostgreSQL running, with this socket directory?)"
                ),
                io::ErrorKind::PermissionDenied => {
                    format!("permission denied opening {at}: {io}")
                }
                io::ErrorKind::TimedOut => format!("no answer from {at}: connection timed out"),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                    format!("{at} closed the connection: {io}")
                }
                _ => format!("cannot reach {at}: {io}"),
            }
        }
        sqlx::Error::PoolTimedOut => format!("no answer from {at} in time"),
        sqlx::Error::Tls(t) => format!(
            "TLS failure with {at}: {t} (the URL's sslmode decides whether TLS is required)"
        ),
        sqlx::Error::Configuration(c) => format!("invalid database URL: {c}"),
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            match code.as_ref() {
                // invalid_password, invalid_authorization_specification
                "28P01" | "28000" => format!(
                    "authentication failed for user `{}` at {at}: {} (check the user and password \
                     in database.url and the server's pg_hba.conf)",
                    target.user,
                    d.message()
                ),
                // invalid_catalog_name
                "3D000" => format!(
                    "database `{}` does not exist at {at} (create it, e.g. `createdb {}`)",
                    target.database, target.database
                ),
                // too_many_connections
                "53300" => format!("{at} refuses more connections: {}", d.message()),
                // cannot_connect_now: starting up or shutting down
                "57P03" => format!("{at} is not accepting connections yet: {}", d.message()),
                _ => format!("{at}: {} ({code})", d.message()),
            }
        }
        other => format!("{at}: {}", super::describe(other)),
    }
}

/// The reason a SQLite database at `path` could not be opened, from the file system (SQLite's
/// own error, "unable to open database file", does not say why). `read_only`: the open would
/// not create the file.
pub fn sqlite_problem(e: &sqlx::Error, path: &Path, read_only: bool) -> String {
    match e {
        sqlx::Error::Io(io) => sqlite_io_problem(io, path, read_only),
        sqlx::Error::Configuration(c) => format!("invalid database URL: {c}"),
        _ => match probe(path, read_only) {
            Some(io) => sqlite_io_problem(&io, path, read_only),
            None => format!("{}: {}", path.display(), super::describe(e)),
        },
    }
}

/// The reason behind an I/O error on the SQLite file `path` (or on its directory).
pub fn sqlite_io_problem(e: &io::Error, path: &Path, read_only: bool) -> String {
    let dir = directory_of(path);
    match e.kind() {
        io::ErrorKind::NotFound if !dir.is_dir() => format!(
            "the directory {} does not exist (create it, or point database.url at an existing \
             directory)",
            dir.display()
        ),
        io::ErrorKind::NotFound if read_only => format!(
            "{} does not exist (wirefeed run or wirefeed migrate creates it)",
            path.display()
        ),
        io::ErrorKind::PermissionDenied => {
            let (what, on) = if path.exists() {
                (
                    if read_only { "read" } else { "read and write" },
                    path.to_path_buf(),
                )
            } else {
                ("create files in", dir.clone())
            };
            format!(
                "permission denied: the user wirefeed runs as (uid {}) cannot {what} {} (give \
                 that user access, e.g. `chown` the directory {} to it, or point database.url \
                 elsewhere)",
                rustix::process::geteuid().as_raw(),
                on.display(),
                dir.display()
            )
        }
        io::ErrorKind::IsADirectory => {
            format!("{} is a directory, not a database file", path.display())
        }
        io::ErrorKind::NotADirectory => format!(
            "{}: a part of the path is a file, not a directory",
            path.display()
        ),
        io::ErrorKind::ReadOnlyFilesystem => format!(
            "{} is on a read-only file system (point database.url at a writable directory)",
            path.display()
        ),
        io::ErrorKind::StorageFull => format!("no space left to create {}", path.display()),
        _ => format!("{}: {e}", path.display()),
    }
}

/// The I/O error that explains why SQLite could not open `path`, found by trying the same
/// access ourselves without creating anything; `None` when the file system allows it (the
/// cause is elsewhere: a corrupt file, a lock).
fn probe(path: &Path, read_only: bool) -> Option<io::Error> {
    let dir = directory_of(path);
    match std::fs::metadata(&dir) {
        Err(e) => return Some(e),
        Ok(m) if !m.is_dir() => return Some(io::Error::from(io::ErrorKind::NotADirectory)),
        Ok(_) => {}
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some(io::Error::from(io::ErrorKind::IsADirectory)),
        Ok(_) => std::fs::OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)
            .err(),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !read_only => {
            // SQLite would create it: can this user create files there?
            let mode = rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK;
            rustix::fs::access(&dir, mode).err().map(io::Error::from)
        }
        Err(e) => Some(e),
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> PgTarget {
        PgTarget {
            address: "db.example.org:5433".to_owned(),
            user: "ingest".to_owned(),
            database: "news".to_owned(),
        }
    }

    /// A PostgreSQL error as the server sends it.
    #[derive(Debug)]
    struct ServerError(&'static str, &'static str);

    impl std::fmt::Display for ServerError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }

    impl std::error::Error for ServerError {}

    impl sqlx::error::DatabaseError for ServerError {
        fn message(&self) -> &str {
            self.1
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn server(code: &'static str, message: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(ServerError(code, message)))
    }

    #[test]
    fn postgres_failures_are_named_for_their_cause() {
        let t = target();
        let io = |k| sqlx::Error::Io(io::Error::from(k));
        let cases: [(sqlx::Error, Resolved, &[&str]); 7] = [
            (
                io(io::ErrorKind::ConnectionRefused),
                Resolved::Yes,
                &["connection refused by db.example.org:5433"],
            ),
            (
                io(io::ErrorKind::Other),
                Resolved::No,
                &["unknown host `db.example.org`"],
            ),
            (
                server(
                    "28P01",
                    "password authentication failed for user \"ingest\"",
                ),
                Resolved::Yes,
                &["authentication failed for user `ingest`", "pg_hba.conf"],
            ),
            (
                server("3D000", "database \"news\" does not exist"),
                Resolved::Yes,
                &[
                    "database `news` does not exist at db.example.org:5433",
                    "createdb news",
                ],
            ),
            (
                sqlx::Error::Tls("invalid peer certificate: UnknownIssuer".into()),
                Resolved::Yes,
                &[
                    "TLS failure with db.example.org:5433",
                    "UnknownIssuer",
                    "sslmode",
                ],
            ),
            (
                sqlx::Error::PoolTimedOut,
                Resolved::Unknown,
                &["no answer from db.example.org:5433"],
            ),
            (
                server("57P03", "the database system is starting up"),
                Resolved::Yes,
                &["not accepting connections yet", "starting up"],
            ),
        ];
        for (e, resolved, wanted) in cases {
            let text = pg_problem(&e, &t, resolved);
            for w in wanted {
                assert!(text.contains(w), "{w:?} missing from {text:?}");
            }
        }
    }

    #[test]
    fn sqlite_failures_name_the_path_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing_dir = dir.path().join("nope/wirefeed.db");
        let text = sqlite_io_problem(
            &io::Error::from(io::ErrorKind::NotFound),
            &missing_dir,
            false,
        );
        assert!(
            text.contains(&format!(
                "the directory {} does not exist",
                dir.path().join("nope").display()
            )),
            "{text}"
        );

        let missing_file = dir.path().join("wirefeed.db");
        let text = sqlite_io_problem(
            &io::Error::from(io::ErrorKind::NotFound),
            &missing_file,
            true,
        );
        assert!(
            text.contains(&format!("{} does not exist", missing_file.display())),
            "{text}"
        );

        // Permission checks do not apply to root, so the error is built, not provoked.
        std::fs::write(&missing_file, b"").expect("write");
        let text = sqlite_io_problem(
            &io::Error::from(io::ErrorKind::PermissionDenied),
            &missing_file,
            false,
        );
        for w in [
            "permission denied",
            "cannot read and write",
            &missing_file.display().to_string(),
            "chown",
        ] {
            assert!(text.contains(w), "{w:?} missing from {text:?}");
        }
        let new_file = dir.path().join("new.db");
        let text = sqlite_io_problem(
            &io::Error::from(io::ErrorKind::PermissionDenied),
            &new_file,
            false,
        );
        assert!(
            text.contains(&format!("cannot create files in {}", dir.path().display())),
            "{text}"
        );
    }

    #[test]
    fn the_file_system_explains_what_sqlite_does_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cant_open = server("14", "unable to open database file");
        let text = sqlite_problem(&cant_open, &dir.path().join("a/b.db"), false);
        assert!(text.contains("does not exist"), "{text}");
        assert!(
            text.contains(&dir.path().join("a").display().to_string()),
            "{text}"
        );
        let text = sqlite_problem(&cant_open, dir.path(), false);
        assert!(text.contains("is a directory"), "{text}");
        let text = sqlite_problem(&cant_open, &dir.path().join("absent.db"), true);
        assert!(text.contains("absent.db does not exist"), "{text}");
        // Nothing wrong on disk: SQLite's own words, once.
        let fine = dir.path().join("fine.db");
        std::fs::write(&fine, b"").expect("write");
        let text = sqlite_problem(&cant_open, &fine, false);
        assert_eq!(
            text.matches("unable to open database file").count(),
            1,
            "{text}"
        );
    }
}
