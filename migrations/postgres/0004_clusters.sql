-- Reprint clusters: which stories are the wire's own copy (the preferred origin of a cluster).
ALTER TABLE stories ADD COLUMN wire_copy BOOLEAN NOT NULL DEFAULT FALSE;
