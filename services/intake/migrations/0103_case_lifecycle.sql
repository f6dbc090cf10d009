-- Complaints, the case lifecycle beyond the needs, and the tracker's own record of what it
-- applied, from which its read model is rebuilt.

-- What a complaint case is about (NULL for applications) and how it was settled.
ALTER TABLE tracked_cases ADD COLUMN complaint_type TEXT;
ALTER TABLE tracked_cases ADD COLUMN grievance_type TEXT;
-- answered, or eligibility's verification outcome (confirmed, rejected, not_found).
ALTER TABLE tracked_cases ADD COLUMN complaint_outcome TEXT;
-- The complaint itself is settled (an inclusion report's verification was decided).
ALTER TABLE tracked_cases ADD COLUMN complaint_settled BOOLEAN NOT NULL DEFAULT false;
-- Eligibility's verification task an inclusion report opened, while it is open.
ALTER TABLE tracked_cases ADD COLUMN verification_task_id TEXT;
ALTER TABLE tracked_cases ADD COLUMN verification_open BOOLEAN NOT NULL DEFAULT false;
-- The desk's explicit steps: the applicant withdrew; the desk closed or answered.
ALTER TABLE tracked_cases ADD COLUMN withdrawn_at TIMESTAMPTZ;
ALTER TABLE tracked_cases ADD COLUMN closed_at TIMESTAMPTZ;

-- Every event the tracker applied, in the order it applied them. The tracker's inbox
-- (es_inbox) keeps only ids, and the other services' topics cannot be read back from the
-- beginning in production (Kafka's retention deletes old segments; the topics are not
-- compacted), so the tracker keeps the payloads of the other services' events itself, in
-- the transaction that applies them. Intake's own events stay in es_events alone (payload
-- NULL here). A rebuild replays this table in `seq` order; a row is written after the
-- case's row is locked, so two events of one case are numbered in the order they committed.
CREATE TABLE tracker_applied (
    seq         BIGSERIAL   PRIMARY KEY,
    event_id    UUID        NOT NULL UNIQUE,
    event_type  TEXT        NOT NULL,
    service     TEXT        NOT NULL,
    case_id     UUID        NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    traceparent TEXT,
    payload     BYTEA
);

-- The supervisors' list filtered by region, newest first, straight from an index at the
-- levels a desk works at: regency (`33.75`), district (`33.75.01`) and village. Measured at
-- a million cases (`make bench-cases`), a regency page read the page-order index and
-- filtered out 97% of what it read; a smaller region read more. Addresses are village codes
-- with fixed-width segments, so a regency is the first 5 characters and a district the
-- first 8 (`app::case_list` filters on exactly these expressions).
CREATE INDEX tracked_cases_regency_opened ON tracked_cases (substr(region_code, 1, 5), opened_at, case_id);
CREATE INDEX tracked_cases_district_opened ON tracked_cases (substr(region_code, 1, 8), opened_at, case_id);
CREATE INDEX tracked_cases_village_opened ON tracked_cases (region_code, opened_at, case_id);
