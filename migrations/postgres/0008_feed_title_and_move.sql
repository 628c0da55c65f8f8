-- The title a feed carries itself (RSS/Atom channel title), kept by every refresh that parses it
-- and by `feeds import` (the outline's title); `feeds export` writes it back. And when a
-- permanent redirect moved the feed (`moved_from` is the address it left), so the daemon can say
-- since when a config file names an old address.
ALTER TABLE feeds ADD COLUMN title TEXT;
ALTER TABLE feeds ADD COLUMN moved_at TIMESTAMPTZ;

-- Every address a feed has left by a permanent redirect (`moved_from` keeps only the last), so a
-- config file naming any of them maps to the feed, however many times it moved since.
CREATE TABLE feed_moves (
    from_url  TEXT PRIMARY KEY,
    feed_id   BIGINT NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    moved_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX feed_moves_feed ON feed_moves (feed_id);
