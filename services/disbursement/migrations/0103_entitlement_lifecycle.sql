-- The entitlement lifecycle: ends (exits, revocations, transfers), holds and their release
-- (with or without arrears), payee changes, deaths for the paid-after-death audit, and
-- entitlements refused by a programme's component cap. Read models of the events named in
-- each comment, written in the transaction that appends them.

-- EntitlementEnded, EntitlementHeld, EntitlementHoldReleased, EntitlementPayeeChanged.
ALTER TABLE entitlements
    -- Nothing is paid for a period that starts after `ended_on`.
    ADD COLUMN ended_on      DATE,
    ADD COLUMN end_reason    TEXT,
    -- Payments for periods that end on or after `held_from` are held until the hold is lifted.
    ADD COLUMN held_from     DATE,
    ADD COLUMN hold_reason   TEXT,
    -- Who the bank pays: the beneficiary's name until a head change names another payee.
    ADD COLUMN payee_name      TEXT,
    ADD COLUMN payee_person_id TEXT;

-- The cap counts a household's open components of a programme.
CREATE INDEX entitlements_beneficiary ON entitlements (programme_code, beneficiary_id) WHERE ended_on IS NULL;

-- A stopped payment keeps its key and its reason for ever; it is never re-issued under
-- another key. `arrears`: a payment held and then owed again, paid in the next batch of its
-- programme whatever the batch's period. `arrears_from_batch_id`: the batch that held it at
-- release, before it became arrears (its `batch_id` then names the batch that pays it).
ALTER TABLE payment_instructions DROP CONSTRAINT payment_instructions_status_check;
ALTER TABLE payment_instructions
    ADD CONSTRAINT payment_instructions_status_check CHECK (status IN ('instructed', 'held', 'stopped')),
    ADD COLUMN stop_reason           TEXT,
    ADD COLUMN arrears               BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN arrears_from_batch_id TEXT REFERENCES payment_batches (batch_id),
    -- The payee named to the bank when it was sent, and when (PaymentSent), and when the bank
    -- settled it (PaymentOutcomeRecorded): what the paid-after-death audit compares.
    ADD COLUMN payee_name            TEXT,
    ADD COLUMN sent_at               TIMESTAMPTZ,
    ADD COLUMN settled_at            TIMESTAMPTZ,
    ADD CONSTRAINT stopped_payments_say_why CHECK (status <> 'stopped' OR stop_reason IS NOT NULL);

CREATE INDEX payment_instructions_arrears ON payment_instructions (programme_code)
    WHERE arrears AND batch_id IS NULL AND status = 'instructed';

-- PersonDeathRecorded: confirmed deaths (a certificate), for the paid-after-death audit.
CREATE TABLE deaths (
    person_id             TEXT PRIMARY KEY,
    household_id          TEXT        NOT NULL,
    date_of_death         DATE        NOT NULL,
    was_head              BOOLEAN     NOT NULL,
    certificate_reference TEXT        NOT NULL,
    source                TEXT        NOT NULL,
    recorded_at           TIMESTAMPTZ NOT NULL
);

CREATE INDEX deaths_household ON deaths (household_id);

-- HouseholdHeadChanged as disbursement applied it (EntitlementPayeeChanged per entitlement,
-- and this row once per change): the audit needs to know since when the dead head no longer
-- was the payee.
CREATE TABLE household_head_changes (
    household_id            TEXT        NOT NULL,
    previous_head_person_id TEXT        NOT NULL,
    new_head_person_id      TEXT        NOT NULL,
    new_head_name           TEXT        NOT NULL,
    changed_on              DATE        NOT NULL,
    recorded_at             TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (household_id, new_head_person_id, changed_on)
);

-- EntitlementRefused: an accepted cash referral that opened no entitlement, and why (a
-- household's fifth PKH component). One per referral, so a redelivery refuses nothing twice.
CREATE TABLE refused_entitlements (
    referral_id    UUID PRIMARY KEY,
    case_id        UUID        NOT NULL,
    programme_code TEXT        NOT NULL,
    beneficiary_id TEXT        NOT NULL,
    component      TEXT        NOT NULL,
    reason_code    TEXT        NOT NULL,
    reason         TEXT        NOT NULL,
    refused_at     TIMESTAMPTZ NOT NULL
);
