-- The read side: views for the common questions (PostgreSQL also notifies new stories; SQLite
-- has no LISTEN).

CREATE VIEW latest_stories AS
SELECT st.id, coalesce(st.published_at, st.first_seen_at) AS published_at, so.name AS source,
       st.title, st.url, st.wire_service, st.dateline, st.language, st.cluster_id, st.is_reprint,
       (SELECT t.value FROM story_tags t
        WHERE t.story_id = st.id AND t.kind = 'country' AND t.is_primary) AS primary_country
FROM stories st JOIN sources so ON so.id = st.source_id;

CREATE VIEW story_clusters AS
SELECT c.id AS cluster_id, c.size, c.first_seen_at, c.last_seen_at,
       o.id AS origin_id, o.title AS origin_title, oso.name AS origin_source, o.url AS origin_url,
       (SELECT coalesce(json_group_array(json_object('id', r.id, 'source', rso.name, 'url', r.url,
                                                     'published', r.published_at)), '[]')
        FROM stories r JOIN sources rso ON rso.id = r.source_id
        WHERE r.cluster_id = c.id AND r.id <> c.origin_story_id) AS reprints
FROM clusters c
JOIN stories o ON o.id = c.origin_story_id
JOIN sources oso ON oso.id = o.source_id;

CREATE VIEW stories_by_country AS
SELECT t.value AS country, t.score, t.is_primary, st.id AS story_id,
       coalesce(st.published_at, st.first_seen_at) AS published_at, st.title, st.url
FROM story_tags t JOIN stories st ON st.id = t.story_id WHERE t.kind = 'country';

CREATE VIEW stories_by_region AS
SELECT t.value AS region, t.score, st.id AS story_id,
       coalesce(st.published_at, st.first_seen_at) AS published_at, st.title, st.url
FROM story_tags t JOIN stories st ON st.id = t.story_id WHERE t.kind = 'region';
