-- `wirefeed retag`: how far an interrupted re-tagging run got, so the next run resumes there.
-- One row while a run is unfinished; none otherwise.
CREATE TABLE retag_progress (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    since_at       TIMESTAMPTZ,
    last_story_id  BIGINT NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
