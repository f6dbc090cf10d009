-- The ledger beyond decisions and the registry file: enrolments other agencies report
-- (external), and PENA started by a household's graduation.

ALTER TABLE enrolments DROP CONSTRAINT IF EXISTS enrolments_source_check;
ALTER TABLE enrolments
    -- 'external': reported by an OPD system (ReportExternalEnrolment), granted outside this
    -- system; 'graduation': PENA started when the household left PKH / BPNT.
    ADD CONSTRAINT enrolments_source_check
        CHECK (source IN ('registry', 'decision', 'external', 'graduation')),
    -- For external enrolments: the reporting agency and its own reference, which identify the
    -- report (a second report with the same pair is the same enrolment).
    ADD COLUMN reporting_opd      TEXT,
    ADD COLUMN external_reference TEXT,
    ADD CONSTRAINT enrolments_external_reported
        CHECK ((source = 'external') = (reporting_opd IS NOT NULL AND external_reference IS NOT NULL));

CREATE UNIQUE INDEX enrolments_external_report ON enrolments (reporting_opd, external_reference)
    WHERE source = 'external';

-- Reality is not refused: an agency may report a programme the household already holds here
-- (a second PKH granted elsewhere), and that must be recorded for the violations report to
-- show. So the one-current-enrolment rule binds only what this system grants itself.
DROP INDEX enrolments_one_current;
CREATE UNIQUE INDEX enrolments_one_current
    ON enrolments (programme_code, beneficiary_kind, beneficiary_id)
    WHERE status <> 'ended' AND source <> 'external';

-- The reports read every current enrolment by programme.
CREATE INDEX enrolments_current_programme ON enrolments (programme_code, started_on) WHERE status <> 'ended';
CREATE INDEX registry_people_kk ON registry_people (kk_number);
