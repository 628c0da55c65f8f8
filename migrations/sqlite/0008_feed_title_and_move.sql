-- A feed's own title and when a permanent redirect moved it (see
-- migrations/postgres/0008_feed_title_and_move.sql).
ALTER TABLE feeds ADD COLUMN title TEXT;
ALTER TABLE feeds ADD COLUMN moved_at TEXT;
