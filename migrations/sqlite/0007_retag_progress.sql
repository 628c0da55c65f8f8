-- `wirefeed retag` progress (see migrations/postgres/0007_retag_progress.sql).
CREATE TABLE retag_progress (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    since_at       TEXT,
    last_story_id  INTEGER NOT NULL,
    started_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
