-- The title a feed carries itself (RSS/Atom channel title), kept by every refresh that parses it
-- and by `feeds import` (the outline's title); `feeds export` writes it back. And when a
-- permanent redirect moved the feed (`moved_from` is the address it left), so the daemon can say
-- since when a config file names an old address.
ALTER TABLE feeds ADD COLUMN title TEXT;
ALTER TABLE feeds ADD COLUMN moved_at TIMESTAMPTZ;
