-- Referral's own tables (the es_* event store tables come from slrt-eventstore). Both are
-- read models: written in the transaction that appends the events they follow, and
-- rebuildable from the referral streams.

-- One row per referral: its details as routed, and where it stands now.
CREATE TABLE referrals (
    referral_id           UUID PRIMARY KEY,
    case_id               UUID        NOT NULL,
    need_id               UUID        NOT NULL,
    category              TEXT        NOT NULL,
    programme_code        TEXT,
    opd_code              TEXT        NOT NULL,
    opd_name              TEXT        NOT NULL,
    service               TEXT        NOT NULL,
    region_code           TEXT        NOT NULL,
    client_name           TEXT        NOT NULL,
    -- The OPD needs it to serve the client; supervisor views show it masked.
    client_nik            TEXT        NOT NULL,
    beneficiary_id        TEXT,
    cash                  BOOLEAN     NOT NULL,
    amount_per_period_idr BIGINT      NOT NULL DEFAULT 0,
    cadence               TEXT        NOT NULL DEFAULT '',
    component             TEXT        NOT NULL DEFAULT '',
    -- requested, acknowledged, accepted, rejected, completed.
    status                TEXT        NOT NULL,
    -- Who acted last for the OPD, and what they said.
    last_actor            TEXT,
    rejection_reason      TEXT,
    successful            BOOLEAN,
    outcome_code          TEXT,
    note                  TEXT,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    -- A need is routed once: a CaseDecided delivered again, even under another event id,
    -- finds its referral here instead of opening a second one.
    UNIQUE (case_id, need_id)
);

-- An OPD's open work, and supervisors' lists by agency and status.
CREATE INDEX referrals_opd_status ON referrals (opd_code, status);

-- Approved needs no rule routes: supervisors must place them by hand or fix the table.
CREATE TABLE unrouted_needs (
    case_id        UUID        NOT NULL,
    need_id        UUID        NOT NULL,
    -- The ReferralUnrouted event; time-ordered, so pages follow it.
    event_id       UUID        NOT NULL UNIQUE,
    category       TEXT        NOT NULL,
    programme_code TEXT,
    region_code    TEXT        NOT NULL,
    reason         TEXT        NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, need_id)
);
