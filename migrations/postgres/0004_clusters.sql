-- Reprint clusters: which stories are the wire's own copy (the preferred origin of a cluster), and
-- an index for loading recent fingerprints at start.
ALTER TABLE stories ADD COLUMN wire_copy BOOLEAN NOT NULL DEFAULT FALSE;
