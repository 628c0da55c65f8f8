-- The read side: views for the common questions, and a notification per new story.

-- Stories with their source, primary country and place in their reprint cluster.
CREATE VIEW latest_stories AS
SELECT st.id, coalesce(st.published_at, st.first_seen_at) AS published_at, so.name AS source,
       st.title, st.url, st.wire_service, st.dateline, st.language, st.cluster_id, st.is_reprint,
       (SELECT t.value FROM story_tags t
        WHERE t.story_id = st.id AND t.kind = 'country' AND t.is_primary) AS primary_country
FROM stories st JOIN sources so ON so.id = st.source_id;

-- One row per reprint cluster: its origin and its reprints (id, source, url, published).
CREATE VIEW story_clusters AS
SELECT c.id AS cluster_id, c.size, c.first_seen_at, c.last_seen_at,
       o.id AS origin_id, o.title AS origin_title, oso.name AS origin_source, o.url AS origin_url,
       (SELECT coalesce(json_agg(json_build_object('id', r.id, 'source', rso.name, 'url', r.url,
                                                   'published', r.published_at)
                                 ORDER BY coalesce(r.published_at, r.first_seen_at)), '[]'::json)
        FROM stories r JOIN sources rso ON rso.id = r.source_id
        WHERE r.cluster_id = c.id AND r.id <> c.origin_story_id) AS reprints
FROM clusters c
JOIN stories o ON o.id = c.origin_story_id
JOIN sources oso ON oso.id = o.source_id;

-- Stories by country and by region, one row per tag.
CREATE VIEW stories_by_country AS
SELECT t.value AS country, t.score, t.is_primary, st.id AS story_id,
       coalesce(st.published_at, st.first_seen_at) AS published_at, st.title, st.url
FROM story_tags t JOIN stories st ON st.id = t.story_id WHERE t.kind = 'country';

CREATE VIEW stories_by_region AS
SELECT t.value AS region, t.score, st.id AS story_id,
       coalesce(st.published_at, st.first_seen_at) AS published_at, st.title, st.url
FROM story_tags t JOIN stories st ON st.id = t.story_id WHERE t.kind = 'region';

-- LISTEN wirefeed_stories: one notification per new story, sent when its transaction commits
-- (the moment it is placed in a cluster). Payload: {"id", "cluster", "title", "url"}, title and
-- URL cut so the payload stays within PostgreSQL's 8,000-byte limit.
CREATE FUNCTION wirefeed_notify_story() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('wirefeed_stories', json_build_object(
    'id', NEW.id, 'cluster', NEW.cluster_id, 'title', left(NEW.title, 300),
    'url', left(NEW.url, 2000))::text);
  RETURN NEW;
END $$;

CREATE TRIGGER stories_notify AFTER UPDATE OF cluster_id ON stories
FOR EACH ROW WHEN (OLD.cluster_id IS NULL AND NEW.cluster_id IS NOT NULL)
EXECUTE FUNCTION wirefeed_notify_story();
