-- A feed's own title and when a permanent redirect moved it (see
-- migrations/postgres/0008_feed_title_and_move.sql).
ALTER TABLE feeds ADD COLUMN title TEXT;
ALTER TABLE feeds ADD COLUMN moved_at TEXT;

CREATE TABLE feed_moves (
    from_url  TEXT PRIMARY KEY,
    feed_id   INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    moved_at  TEXT NOT NULL
);
CREATE INDEX feed_moves_feed ON feed_moves (feed_id);
