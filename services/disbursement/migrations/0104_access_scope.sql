-- Who may see an entitlement's payments, and whom they concern (ADR 7). Kept from the accepted
-- referral that opened the entitlement, in the transaction that opens it:
--   region_code  the Kemendagri village of the client's address: area roles see the payments
--                of their area only. NULL (entitlements opened before this migration, or an
--                acceptance without a usable region) is seen only by callers whose area is
--                the whole regency or wider.
--   nik_token    the keyed token of the client's NIK (never the NIK): audit records of every
--                read and change of the payments name it, so the person's access report
--                finds them.
--   opd_code     the agency that accepted the referral: an agency's system sees its own
--                referrals' payments over gRPC.
-- EntitlementCreated does not carry them (its schema is shared with other services); a
-- rebuild of `entitlements` from disbursement's events leaves them as they are.
ALTER TABLE entitlements
    ADD COLUMN region_code TEXT,
    ADD COLUMN nik_token   TEXT,
    ADD COLUMN opd_code    TEXT;

-- A batch is read a page at a time, in key order, and the keyset scan stops after one page
-- (the whole of a batch of 1,000,000 payments is never read to show 100 of them).
DROP INDEX payment_instructions_batch;
CREATE INDEX payment_instructions_batch ON payment_instructions (batch_id, payment_key)
    WHERE batch_id IS NOT NULL;
-- The payments a batch held at release and a later batch pays (arrears) are still shown by
-- the first batch.
CREATE INDEX payment_instructions_arrears_from ON payment_instructions (arrears_from_batch_id, payment_key)
    WHERE arrears_from_batch_id IS NOT NULL;
