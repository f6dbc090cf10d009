-- Payment batches: one programme and period at a time, prepared by one person (the maker)
-- and released by another (the checker). Read models of the `batch-<id>` streams, written in
-- the transaction that appends their events.

CREATE TABLE payment_batches (
    -- "<programme>:<period>:<sequence>".
    batch_id           TEXT PRIMARY KEY,
    programme_code     TEXT        NOT NULL,
    period             TEXT        NOT NULL,
    sequence           INT         NOT NULL CHECK (sequence > 0),
    -- prepared, released.
    status             TEXT        NOT NULL CHECK (status IN ('prepared', 'released')),
    prepared_by        TEXT        NOT NULL,
    prepared_at        TIMESTAMPTZ NOT NULL,
    payment_count      INT         NOT NULL,
    total_idr          BIGINT      NOT NULL,
    released_by        TEXT,
    released_at        TIMESTAMPTZ,
    released_count     INT,
    released_total_idr BIGINT,
    held_count         INT,
    UNIQUE (programme_code, period, sequence),
    -- Maker/checker, as a last line of defence behind the domain's rule.
    CONSTRAINT released_by_a_second_person CHECK (released_by IS NULL OR lower(released_by) <> lower(prepared_by))
);

-- A payment belongs to at most one batch, for ever; what the release decided about it.
ALTER TABLE payment_instructions
    ADD COLUMN batch_id             TEXT REFERENCES payment_batches (batch_id),
    -- released (to be sent to the bank) or held (not payable at release).
    ADD COLUMN release_status       TEXT CHECK (release_status IN ('released', 'held')),
    ADD COLUMN release_hold_reasons JSONB NOT NULL DEFAULT '[]';

CREATE INDEX payment_instructions_unbatched ON payment_instructions (programme_code, period)
    WHERE batch_id IS NULL AND status = 'instructed';
CREATE INDEX payment_instructions_batch ON payment_instructions (batch_id) WHERE batch_id IS NOT NULL;
