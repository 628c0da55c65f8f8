-- Placement order and cluster merges (see migrations/postgres/0006_placement_and_merges.sql).
ALTER TABLE stories ADD COLUMN placed INTEGER;
UPDATE stories SET placed = id WHERE cluster_id IS NOT NULL;
CREATE INDEX stories_placed ON stories (placed) WHERE placed IS NOT NULL;

CREATE TABLE cluster_merges (
    from_cluster_id  INTEGER PRIMARY KEY,
    into_cluster_id  INTEGER NOT NULL,
    merged_at        TEXT NOT NULL
);
CREATE INDEX cluster_merges_into ON cluster_merges (into_cluster_id);
