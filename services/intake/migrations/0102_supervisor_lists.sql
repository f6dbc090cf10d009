-- Indexes for the supervisors' lists of cases (GET /v1/cases, /counts, /export.csv): newest
-- first with keyset pagination on (opened_at, case_id), filtered by status, region prefix,
-- agency, programme and overdue needs.

-- The page order and the opened_from/opened_to range, read backwards for newest first.
CREATE INDEX tracked_cases_opened ON tracked_cases (opened_at, case_id);

-- A status filter in page order; supersedes the (status, opened_at) index of 0100.
CREATE INDEX tracked_cases_status_opened ON tracked_cases (status, opened_at, case_id);
DROP INDEX tracked_cases_status;

-- Region prefixes (`33.75` takes `33.75.…`) are byte ranges under the pattern operators,
-- which only a text_pattern_ops index serves whatever the database collation; it serves
-- equality too, so it supersedes the plain index of 0100.
CREATE INDEX tracked_cases_region_prefix ON tracked_cases (region_code text_pattern_ops);
DROP INDEX tracked_cases_region;

-- "Cases with a need at this agency / under this programme": the case ids straight from
-- the index.
CREATE INDEX tracked_needs_opd ON tracked_needs (opd_code, case_id) WHERE opd_code IS NOT NULL;
CREATE INDEX tracked_needs_programme ON tracked_needs (programme_code, case_id) WHERE programme_code IS NOT NULL;

-- Overdue needs are few; the filter and the dashboard's count look only at them.
CREATE INDEX tracked_needs_overdue ON tracked_needs (case_id)
    WHERE overdue_clock IS NOT NULL OR escalation_level > 0;
