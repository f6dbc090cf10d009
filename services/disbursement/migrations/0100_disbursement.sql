-- Disbursement's read models (the es_* event store tables come from slrt-eventstore). Both
-- are built from this service's own events, in the transaction that records them.

-- A beneficiary's right to periodic payments, opened from an accepted cash referral.
CREATE TABLE entitlements (
    entitlement_id        UUID PRIMARY KEY,
    -- One entitlement per accepted referral: a redelivered or re-sent acceptance, or two
    -- racing consumers, find the first one here instead of opening a second.
    referral_id           UUID        NOT NULL UNIQUE,
    case_id               UUID        NOT NULL,
    programme_code        TEXT        NOT NULL,
    beneficiary_id        TEXT        NOT NULL,
    beneficiary_name      TEXT        NOT NULL,
    component             TEXT        NOT NULL,
    amount_per_period_idr BIGINT      NOT NULL CHECK (amount_per_period_idr > 0),
    cadence               TEXT        NOT NULL CHECK (cadence IN ('monthly', 'quarterly', 'yearly', 'once')),
    first_period          TEXT        NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL
);

CREATE INDEX entitlements_case ON entitlements (case_id);

-- Every payment decided for a period: instructed (to be sent to the bank) or held (due, but
-- the beneficiary was not payable at the release check).
CREATE TABLE payment_instructions (
    payment_id     UUID PRIMARY KEY,
    -- The last line of defence against paying twice: whatever the code above does, a second
    -- row for the same programme, period, beneficiary and component cannot commit. A held
    -- payment takes its key too, so that releasing it later pays that key and no other.
    payment_key    TEXT        NOT NULL UNIQUE,
    entitlement_id UUID        NOT NULL REFERENCES entitlements (entitlement_id),
    case_id        UUID        NOT NULL,
    programme_code TEXT        NOT NULL,
    period         TEXT        NOT NULL,
    beneficiary_id TEXT        NOT NULL,
    component      TEXT        NOT NULL,
    -- For a held payment, the amount that was due.
    amount_idr     BIGINT      NOT NULL CHECK (amount_idr > 0),
    status         TEXT        NOT NULL CHECK (status IN ('instructed', 'held')),
    hold_reasons   JSONB       NOT NULL DEFAULT '[]',
    created_at     TIMESTAMPTZ NOT NULL,
    -- The key is its parts written out; a row whose parts disagree with its key would let the
    -- same payment hide under a second key.
    CONSTRAINT payment_key_matches_parts
        CHECK (payment_key = programme_code || ':' || period || ':' || beneficiary_id || ':' || component),
    CONSTRAINT held_payments_say_why
        CHECK (status <> 'held' OR jsonb_array_length(hold_reasons) > 0)
);

CREATE INDEX payment_instructions_case ON payment_instructions (case_id, created_at);
CREATE INDEX payment_instructions_beneficiary ON payment_instructions (beneficiary_id, created_at);
CREATE INDEX payment_instructions_entitlement ON payment_instructions (entitlement_id);
CREATE INDEX payment_instructions_programme_period ON payment_instructions (programme_code, period);
