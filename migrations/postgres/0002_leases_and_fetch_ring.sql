-- Scheduling state for several daemons and a fetch log bounded by construction.
-- feeds.fetch_count numbers each feed's fetches; the fetch log keeps slot = fetch_count % 50, so a
-- feed's log is overwritten in place and never needs pruning. Rows logged before this migration
-- have no slot and are dropped.
ALTER TABLE feeds ADD COLUMN fetch_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN moved_from TEXT;
ALTER TABLE fetches ADD COLUMN slot INTEGER;
DELETE FROM fetches WHERE slot IS NULL;
CREATE UNIQUE INDEX fetches_ring ON fetches (feed_id, slot);
