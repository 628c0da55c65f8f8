-- Placement order and cluster merges.
--
-- `stories.placed` is the placement sequence: every batch placed under the cluster lock takes the
-- next number, so a daemon catches up with the others' placements by it (story ids are given out
-- before the lock and no longer follow commit order). Stories placed before this migration keep
-- their id, which did follow commit order.
ALTER TABLE stories ADD COLUMN placed BIGINT;
UPDATE stories SET placed = id WHERE cluster_id IS NOT NULL;
CREATE INDEX stories_placed ON stories (placed) WHERE placed IS NOT NULL;

-- A cluster merged into another disappears; its record lets a reader follow the old id.
CREATE TABLE cluster_merges (
    from_cluster_id  BIGINT PRIMARY KEY,
    into_cluster_id  BIGINT NOT NULL,
    merged_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX cluster_merges_into ON cluster_merges (into_cluster_id);
