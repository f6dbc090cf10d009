-- Evidence feeds and what they cause: the evidence items, holds on enrolments, exits, and
-- the verification tasks officers decide. Every row here is written in the transaction that
-- records the matching event (EvidenceRecorded, EnrolmentHeld, ... VerificationTaskResolved).

-- One row per item of evidence received (gRPC or file). (source, reference) identifies an
-- item: the same item again is answered with the same row.
CREATE TABLE evidence (
    evidence_id          UUID PRIMARY KEY,
    kind                 TEXT        NOT NULL CHECK (kind IN ('death_provisional', 'death_certificate',
                                                              'death_retraction', 'vehicle', 'payroll',
                                                              'desil_update')),
    source               TEXT        NOT NULL,
    reference            TEXT        NOT NULL,
    person_id            TEXT        NOT NULL,
    household_id         TEXT        NOT NULL,
    observed_on          DATE        NOT NULL,
    -- The item as received, field by field (NIK included: it is compared, never shown), so a
    -- re-submission can be told apart from a conflicting one.
    content              JSONB       NOT NULL,
    retracts_evidence_id UUID REFERENCES evidence (evidence_id),
    -- Set on a provisional death report when a retraction withdrew it.
    retracted_by         UUID REFERENCES evidence (evidence_id),
    -- What applying it did, as EvidenceRecorded.effects ([{rule, message}]).
    effects              JSONB       NOT NULL DEFAULT '[]',
    recorded_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source, reference)
);

CREATE INDEX evidence_person ON evidence (person_id);

-- Verification tasks: exclusion evidence or an inclusion-error complaint waiting for an
-- officer's decision.
CREATE TABLE verification_tasks (
    task_id           UUID PRIMARY KEY,
    ground            TEXT        NOT NULL CHECK (ground IN ('vehicle', 'payroll', 'desil', 'inclusion_complaint')),
    -- NULL when the report named nobody the registry knows (resolved not_found at once).
    person_id         TEXT,
    household_id      TEXT,
    -- Kemendagri village code of the household (for the back office's region filter).
    region_code       TEXT        NOT NULL DEFAULT '',
    evidence_id       UUID REFERENCES evidence (evidence_id),
    complaint_case_id UUID UNIQUE,
    summary           TEXT        NOT NULL,
    opened_on         DATE        NOT NULL,
    due_on            DATE        NOT NULL,
    opened_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    outcome           TEXT CHECK (outcome IN ('confirmed', 'rejected', 'not_found')),
    resolution_reason TEXT,
    resolved_by       TEXT,
    resolved_on       DATE,
    CHECK ((outcome IS NULL) = (resolved_on IS NULL))
);

CREATE INDEX verification_tasks_open ON verification_tasks (opened_at, task_id) WHERE outcome IS NULL;
CREATE INDEX verification_tasks_person ON verification_tasks (person_id);
CREATE INDEX verification_tasks_household ON verification_tasks (household_id);

-- Holds on enrolments. An enrolment is 'held' while it has at least one open hold; each
-- hold is released or closed by the enrolment's end on its own.
CREATE TABLE enrolment_holds (
    hold_id       UUID PRIMARY KEY,
    enrolment_id  UUID        NOT NULL REFERENCES enrolments (enrolment_id),
    reason_code   TEXT        NOT NULL CHECK (reason_code IN ('death_reported', 'exclusion_evidence')),
    reason        TEXT        NOT NULL,
    held_from     DATE        NOT NULL,
    evidence_id   UUID REFERENCES evidence (evidence_id),
    task_id       UUID REFERENCES verification_tasks (task_id),
    -- open, released (the hold proved wrong or was lifted), or ended (the enrolment ended).
    state         TEXT        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'released', 'ended')),
    released_on   DATE,
    arrears_due   BOOLEAN,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX enrolment_holds_enrolment ON enrolment_holds (enrolment_id) WHERE state = 'open';
CREATE INDEX enrolment_holds_evidence ON enrolment_holds (evidence_id);
CREATE INDEX enrolment_holds_task ON enrolment_holds (task_id);

-- Why an enrolment ended (EnrolmentEnded.reason_code), so that only an exclusion can be
-- reinstated; and, on a reinstated enrolment, the one it reinstates.
ALTER TABLE enrolments
    ADD COLUMN ended_reason_code       TEXT,
    ADD COLUMN reinstates_enrolment_id UUID REFERENCES enrolments (enrolment_id);
