-- The full referral lifecycle: re-routing (a need may have several referrals, one open at a
-- time), SLA deadlines and durable timers, escalations, and needs of other cases linked
-- to an open referral. All read models, rebuildable from the referral streams.

ALTER TABLE referrals
    -- 1 for a need's first referral, one more per re-routing or placement.
    ADD COLUMN attempt              INT         NOT NULL DEFAULT 1,
    ADD COLUMN previous_referral_id UUID,
    -- routing_table, rerouted_after_rejection, transferred, placed_by_supervisor.
    ADD COLUMN routed_by            TEXT        NOT NULL DEFAULT 'routing_table',
    ADD COLUMN routing_note         TEXT        NOT NULL DEFAULT '',
    -- information, dispute, field: how long resolving may take.
    ADD COLUMN sla_tier             TEXT        NOT NULL DEFAULT 'information',
    ADD COLUMN need_referred_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN response_due_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN resolution_due_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The agency's first answer (acknowledge, accept, reject, transfer) and the end.
    ADD COLUMN first_response_at    TIMESTAMPTZ,
    ADD COLUMN closed_at            TIMESTAMPTZ,
    ADD COLUMN transferred_to       TEXT,
    ADD COLUMN revocation_reason    TEXT,
    -- Highest escalation step reached on either clock.
    ADD COLUMN escalation_level     INT         NOT NULL DEFAULT 0,
    ADD COLUMN linked_needs         INT         NOT NULL DEFAULT 0;

-- A need is re-routed under a new referral; each referral of a need has its own attempt
-- number, so a decision delivered twice still cannot route the need twice.
ALTER TABLE referrals DROP CONSTRAINT referrals_case_id_need_id_key;
ALTER TABLE referrals ADD CONSTRAINT referrals_need_attempt UNIQUE (case_id, need_id, attempt);

-- Never two agencies holding the same need at once.
CREATE UNIQUE INDEX referrals_one_open_per_need ON referrals (case_id, need_id)
    WHERE status IN ('requested', 'acknowledged', 'accepted', 'in_progress');

-- Never two open referrals for the same person and the same need (another case is linked
-- to the open one instead). The component keeps a family's PKH components apart.
CREATE UNIQUE INDEX referrals_one_open_per_person_need
    ON referrals (client_nik, category, COALESCE(programme_code, ''), component)
    WHERE status IN ('requested', 'acknowledged', 'accepted', 'in_progress') AND client_nik <> '';

-- Overdue lists and SLA dashboards.
CREATE INDEX referrals_open_due ON referrals (response_due_at, resolution_due_at)
    WHERE status IN ('requested', 'acknowledged', 'accepted', 'in_progress');
CREATE INDEX referrals_need ON referrals (case_id, need_id, attempt);

-- Durable SLA timers: the next escalation step of each clock still running. The timer
-- worker fires rows whose fire_at has passed on the service clock, after restarts too.
CREATE TABLE sla_timers (
    referral_id UUID        NOT NULL,
    -- response or resolution.
    clock       TEXT        NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    next_level  INT         NOT NULL,
    fire_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (referral_id, clock)
);
CREATE INDEX sla_timers_fire_at ON sla_timers (fire_at);

-- Every escalation, for supervisors' lists.
CREATE TABLE escalations (
    event_id             UUID PRIMARY KEY,
    referral_id          UUID        NOT NULL,
    case_id              UUID        NOT NULL,
    opd_code             TEXT        NOT NULL,
    clock                TEXT        NOT NULL,
    level                INT         NOT NULL,
    escalated_to         TEXT        NOT NULL,
    escalated_to_name    TEXT        NOT NULL,
    due_at               TIMESTAMPTZ NOT NULL,
    escalated_at         TIMESTAMPTZ NOT NULL,
    working_days_overdue INT         NOT NULL,
    UNIQUE (referral_id, clock, level)
);
CREATE INDEX escalations_opd ON escalations (opd_code, escalated_at);

-- Needs of other cases that wait on an open referral for the same person and need.
CREATE TABLE referral_links (
    referral_id    UUID        NOT NULL,
    linked_case_id UUID        NOT NULL,
    linked_need_id UUID        NOT NULL,
    linked_at      TIMESTAMPTZ NOT NULL,
    closed_at      TIMESTAMPTZ,
    PRIMARY KEY (referral_id, linked_case_id, linked_need_id)
);
CREATE INDEX referral_links_need ON referral_links (linked_case_id, linked_need_id);

-- A need whose every agency declined it waits here too, with who declined it; a
-- supervisor's placement removes it.
ALTER TABLE unrouted_needs
    ADD COLUMN tried_opd_codes TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN linked_needs    INT    NOT NULL DEFAULT 0;
