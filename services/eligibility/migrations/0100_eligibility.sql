-- Eligibility's own tables (the es_* event store tables come from slrt-eventstore).

-- Registry facts: one row per person, as the social registry (DTKS / DTSEN) records them.
-- Loaded from a registry file at start; decisions and screens read it.
CREATE TABLE registry_people (
    person_id            TEXT PRIMARY KEY,
    -- Personal data (UU 27/2022): never logged, never returned in clear by the HTTP API.
    nik                  TEXT        NOT NULL UNIQUE,
    full_name            TEXT        NOT NULL,
    birth_date           DATE        NOT NULL,
    sex                  TEXT        NOT NULL CHECK (sex IN ('M', 'F')),
    household_id         TEXT        NOT NULL,
    kk_number            TEXT        NOT NULL,
    -- Kemendagri village code of the household's address, dotted.
    region_code          TEXT        NOT NULL,
    relationship_to_head TEXT        NOT NULL,
    -- Welfare decile of the household: 1 poorest .. 10 richest.
    desil                SMALLINT    NOT NULL CHECK (desil BETWEEN 1 AND 10),
    deceased             BOOLEAN     NOT NULL DEFAULT false,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX registry_people_household ON registry_people (household_id);

-- The enrolment ledger: every programme a person or household holds, across all OPDs.
CREATE TABLE enrolments (
    enrolment_id     UUID PRIMARY KEY,
    programme_code   TEXT        NOT NULL,
    beneficiary_kind TEXT        NOT NULL CHECK (beneficiary_kind IN ('household', 'person')),
    -- A household id for household programmes, a person id for personal ones.
    beneficiary_id   TEXT        NOT NULL,
    -- held: payments paused (a provisional death report, evidence under verification); a
    -- held enrolment still blocks overlapping programmes.
    status           TEXT        NOT NULL CHECK (status IN ('active', 'held', 'ended')),
    -- 'registry' for enrolments the registry file lists (decided before this system), or
    -- 'decision' for those a case decision started.
    source           TEXT        NOT NULL CHECK (source IN ('registry', 'decision')),
    -- The case whose decision started it; NULL for enrolments from the registry.
    case_id          UUID,
    need_id          TEXT,
    started_on       DATE        NOT NULL,
    ended_on         DATE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((source = 'decision') = (case_id IS NOT NULL))
);

-- A beneficiary holds a programme at most once at a time; ended enrolments are history.
-- Two decisions racing to start the same enrolment collide here, and the loser decides again.
CREATE UNIQUE INDEX enrolments_one_current
    ON enrolments (programme_code, beneficiary_kind, beneficiary_id)
    WHERE status <> 'ended';

CREATE INDEX enrolments_beneficiary ON enrolments (beneficiary_id, beneficiary_kind);
CREATE INDEX enrolments_case ON enrolments (case_id) WHERE case_id IS NOT NULL;

-- Decisions read model: one row per decided case, with every need's outcome and reasons.
CREATE TABLE decisions (
    case_id           UUID PRIMARY KEY,
    case_number       TEXT        NOT NULL,
    catalogue_version TEXT        NOT NULL,
    decided_at        TIMESTAMPTZ NOT NULL,
    -- The CaseDecided event the row was written with.
    event_id          UUID        NOT NULL UNIQUE,
    -- The decision as GET /v1/decisions/{case_id} returns it.
    decision          JSONB       NOT NULL
);
