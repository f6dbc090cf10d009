-- Sending released payments to the paying bank. A payment is marked `sending` (committed)
-- before the bank is called, so that a crash in between leaves a trace that is resolved by
-- asking the bank about the key; the outcome follows. Read model of PaymentSent and
-- PaymentOutcomeRecorded.
ALTER TABLE payment_instructions
    ADD COLUMN bank_status     TEXT CHECK (bank_status IN ('sending', 'settled', 'failed', 'reversed', 'unknown')),
    ADD COLUMN bank_attempt    INT NOT NULL DEFAULT 0,
    ADD COLUMN bank_reference  TEXT,
    ADD COLUMN bank_reason     TEXT,
    ADD COLUMN bank_updated_at TIMESTAMPTZ,
    -- Only a released payment of a batch is ever sent.
    ADD CONSTRAINT only_released_payments_are_sent CHECK (bank_status IS NULL OR release_status = 'released');

-- The sender's work list: released payments not sent yet, or whose outcome is not known.
CREATE INDEX payment_instructions_to_send ON payment_instructions (payment_key)
    WHERE release_status = 'released' AND (bank_status IS NULL OR bank_status IN ('sending', 'unknown'));
