-- People and households, and the duplicate adjudication queue: read models of the person-,
-- household- and duplicate- streams (app/people.rs applies the events; a rebuild clears
-- these tables and replays them).

CREATE TABLE people (
    person_id     UUID PRIMARY KEY,
    -- In clear: the desk's duplicate check compares NIKs digit by digit. Never logged, and
    -- masked in every HTTP answer.
    nik           TEXT        NOT NULL,
    full_name     TEXT        NOT NULL,
    birth_date    DATE        NOT NULL,
    sex           TEXT        NOT NULL,
    region_code   TEXT        NOT NULL,
    household_id  UUID,
    relationship  TEXT,
    -- Set once the record was found to be another person's and merged into it.
    merged_into   UUID,
    registered_by TEXT        NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX people_nik ON people (nik);
CREATE INDEX people_merged_into ON people (merged_into) WHERE merged_into IS NOT NULL;

-- The matcher's blocking keys (domain::matching::blocking_keys) of every person: the desk
-- compares an applicant only with the people sharing a key, not with everyone. Keys of an
-- earlier spelling stay; they only bring the person up more often.
CREATE TABLE person_blocking_keys (
    key       TEXT NOT NULL,
    person_id UUID NOT NULL,
    PRIMARY KEY (key, person_id)
);

-- Cases each person record was registered with (from CaseOpened's screening.person_id).
-- Case ids are UUIDv7: in the order the cases were opened.
CREATE TABLE person_cases (
    person_id UUID NOT NULL,
    case_id   UUID NOT NULL,
    PRIMARY KEY (person_id, case_id)
);

CREATE TABLE households (
    household_id  UUID PRIMARY KEY,
    kk_number     TEXT        NOT NULL,
    region_code   TEXT        NOT NULL,
    head_person_id UUID,
    registered_at TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- One household holds a KK number at a time.
CREATE UNIQUE INDEX households_kk ON households (kk_number);

-- Every KK number a household held, the first one included (reason 'registered').
CREATE TABLE household_kk_history (
    household_id UUID        NOT NULL,
    seq          INT         NOT NULL,
    kk_number    TEXT        NOT NULL,
    reason       TEXT        NOT NULL,
    effective_on DATE,
    actor        TEXT        NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (household_id, seq)
);

CREATE INDEX household_kk_history_kk ON household_kk_history (kk_number);

CREATE TABLE household_members (
    household_id UUID        NOT NULL,
    person_id    UUID        NOT NULL,
    relationship TEXT        NOT NULL,
    joined_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (household_id, person_id)
);

-- The adjudication queue: one row per suspected pair, ever (pair_low/pair_high are the two
-- ids in order, so the pair is found whichever side the desk saw first).
CREATE TABLE duplicate_suspects (
    duplicate_id          UUID PRIMARY KEY,
    kind                  TEXT             NOT NULL CHECK (kind IN ('exact', 'probable')),
    reason                TEXT             NOT NULL,
    person_id             UUID             NOT NULL,
    other_person_id       UUID,
    declared_household_id UUID,
    pair_low              UUID             NOT NULL,
    pair_high             UUID             NOT NULL,
    score                 DOUBLE PRECISION NOT NULL,
    fields                JSONB            NOT NULL,
    case_id               UUID,
    status                TEXT             NOT NULL CHECK (status IN ('open', 'decided')),
    decision              TEXT,
    survivor_person_id    UUID,
    decision_reason       TEXT,
    decided_by            TEXT,
    suspected_at          TIMESTAMPTZ      NOT NULL,
    decided_at            TIMESTAMPTZ,
    UNIQUE (pair_low, pair_high)
);

-- The queue's pages: by status (and kind), oldest first by the UUIDv7 id.
CREATE INDEX duplicate_suspects_queue ON duplicate_suspects (status, kind, duplicate_id);
CREATE INDEX duplicate_suspects_status ON duplicate_suspects (status, duplicate_id);
