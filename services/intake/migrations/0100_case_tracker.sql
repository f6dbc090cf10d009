-- Intake's own tables (the es_* event store tables come from slrt-eventstore).

-- Human case numbers: SLRT-<regency>-<year>-<serial>.
CREATE SEQUENCE case_number_serial;

-- Idempotency of creates: a retried request with the same key returns the first answer.
CREATE TABLE idempotency_keys (
    scope         TEXT        NOT NULL,
    key           TEXT        NOT NULL,
    request_hash  TEXT        NOT NULL,
    -- NULL while the first request is still being processed.
    status_code   INT,
    response_body JSONB,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- The case tracker: one row per case, built from every service's events.
CREATE TABLE tracked_cases (
    case_id          UUID PRIMARY KEY,
    case_number      TEXT        NOT NULL UNIQUE,
    kind             TEXT        NOT NULL,
    status           TEXT        NOT NULL,
    applicant_name   TEXT        NOT NULL,
    nik_masked       TEXT        NOT NULL,
    region_code      TEXT        NOT NULL,
    desk_region_code TEXT        NOT NULL,
    opened_by        TEXT        NOT NULL,
    warnings         JSONB       NOT NULL DEFAULT '[]',
    opened_at        TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX tracked_cases_status ON tracked_cases (status, opened_at);
CREATE INDEX tracked_cases_region ON tracked_cases (region_code);

CREATE TABLE tracked_needs (
    case_id        UUID        NOT NULL REFERENCES tracked_cases (case_id),
    need_id        UUID        NOT NULL,
    category       TEXT        NOT NULL,
    status         TEXT        NOT NULL,
    programme_code TEXT,
    opd_code       TEXT,
    referral_id    UUID,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, need_id)
);

CREATE INDEX tracked_needs_referral ON tracked_needs (referral_id) WHERE referral_id IS NOT NULL;

-- Every step of every case, from every service.
CREATE TABLE case_timeline (
    event_id    UUID PRIMARY KEY,
    case_id     UUID        NOT NULL,
    event_type  TEXT        NOT NULL,
    service     TEXT        NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    summary     TEXT        NOT NULL,
    trace_id    TEXT
);

CREATE INDEX case_timeline_case ON case_timeline (case_id, occurred_at);
