-- wirefeed schema, PostgreSQL. The logical model is the same as migrations/sqlite/0001_initial.sql;
-- README.md ("The database") documents every table and column. Change it only with new migrations.

CREATE TABLE sources (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    domain      TEXT,
    is_wire     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE feeds (
    id                  BIGSERIAL PRIMARY KEY,
    url                 TEXT NOT NULL UNIQUE,
    source_id           BIGINT NOT NULL REFERENCES sources (id),
    defined_in          TEXT NOT NULL DEFAULT 'cli',
    status              TEXT NOT NULL DEFAULT 'active',
    etag                TEXT,
    last_modified       TEXT,
    body_hash           TEXT,
    last_status         INTEGER,
    last_error          TEXT,
    last_error_message  TEXT,
    consecutive_errors  INTEGER NOT NULL DEFAULT 0,
    last_fetched_at     TIMESTAMPTZ,
    last_success_at     TIMESTAMPTZ,
    next_check_at       TIMESTAMPTZ NOT NULL,
    interval_secs       INTEGER,
    lease_owner         TEXT,
    lease_expires_at    TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX feeds_due ON feeds (next_check_at) WHERE status = 'active';

CREATE TABLE clusters (
    id               BIGSERIAL PRIMARY KEY,
    origin_story_id  BIGINT,
    first_seen_at    TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    size             INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE stories (
    id               BIGSERIAL PRIMARY KEY,
    feed_id          BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    source_id        BIGINT NOT NULL REFERENCES sources (id),
    key              TEXT NOT NULL,
    url              TEXT,
    canonical_url    TEXT,
    title            TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL DEFAULT '',
    body_html        TEXT,
    authors          JSONB NOT NULL DEFAULT '[]',
    published_at     TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ,
    language         TEXT,
    wire_service     TEXT,
    dateline         TEXT,
    content_hash     TEXT NOT NULL,
    fingerprint      BYTEA,
    cluster_id       BIGINT REFERENCES clusters (id),
    is_reprint       BOOLEAN NOT NULL DEFAULT FALSE,
    version          INTEGER NOT NULL DEFAULT 1,
    first_seen_at    TIMESTAMPTZ NOT NULL,
    last_changed_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (feed_id, key)
);
CREATE INDEX stories_published ON stories (published_at DESC);
CREATE INDEX stories_first_seen ON stories (first_seen_at DESC);
CREATE INDEX stories_cluster ON stories (cluster_id);
CREATE INDEX stories_canonical_url ON stories (canonical_url);
CREATE INDEX stories_unclustered ON stories (feed_id) WHERE cluster_id IS NULL;

ALTER TABLE clusters
    ADD CONSTRAINT clusters_origin_story FOREIGN KEY (origin_story_id) REFERENCES stories (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX clusters_origin ON clusters (origin_story_id);

-- Bodies compress well; lz4 is much cheaper than the default pglz on write. Servers built without lz4
-- keep the default.
DO $$
BEGIN
    ALTER TABLE stories ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
    NULL;
END
$$;

CREATE TABLE story_versions (
    story_id      BIGINT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    replaced_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (story_id, version)
);

CREATE TABLE story_tags (
    story_id    BIGINT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('country', 'region', 'topic')),
    value       TEXT NOT NULL,
    score       REAL NOT NULL,
    is_primary  BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (story_id, kind, value)
);
CREATE INDEX story_tags_value ON story_tags (kind, value);

CREATE TABLE fetches (
    id             BIGSERIAL PRIMARY KEY,
    feed_id        BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    fetched_at     TIMESTAMPTZ NOT NULL,
    outcome        TEXT NOT NULL,
    http_status    INTEGER,
    error_kind     TEXT,
    error_message  TEXT,
    duration_ms    INTEGER NOT NULL,
    bytes          BIGINT NOT NULL DEFAULT 0,
    items          INTEGER NOT NULL DEFAULT 0,
    new_stories    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX fetches_feed ON fetches (feed_id, id DESC);
