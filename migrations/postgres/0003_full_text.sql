-- Per-feed full text: fetch each new item's article page and use its main text when it is better
-- than the feed's summary.
ALTER TABLE feeds ADD COLUMN full_text BOOLEAN NOT NULL DEFAULT FALSE;
