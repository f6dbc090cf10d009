-- The audit log (slrt-audit). Append-only: the triggers below refuse UPDATE, DELETE and
-- TRUNCATE for every role, and each row's hash covers the previous row's hash, so a row
-- changed or removed behind the triggers' back (by someone able to disable them) breaks the
-- chain at that row, which `verify_chain` finds.
CREATE TABLE audit_log (
    -- Gapless, assigned under a transaction-scoped advisory lock.
    seq           BIGINT PRIMARY KEY,
    recorded_at   TIMESTAMPTZ NOT NULL,
    -- The person or system that acted (token subject or client id) and their roles then.
    actor         TEXT        NOT NULL,
    actor_roles   TEXT        NOT NULL,
    -- What was done, e.g. "case.read", "case.open", "referral.list", "access.denied".
    action        TEXT        NOT NULL,
    -- What it was done to, e.g. "case/0190…", "household/H-33750100231".
    resource      TEXT        NOT NULL,
    -- Keyed tokens (HMAC) of the NIKs of the people whose data was touched, comma-separated
    -- in the order hashed; never a NIK. Indexed one per row in audit_log_subjects.
    subjects      TEXT        NOT NULL,
    -- Why (the purpose the caller declared), required for reads of personal data.
    purpose       TEXT,
    -- allowed | denied | not_found
    outcome       TEXT        NOT NULL CHECK (outcome IN ('allowed', 'denied', 'not_found')),
    -- JSON text, kept byte for byte as hashed (jsonb would normalise it).
    detail        TEXT        NOT NULL,
    prev_hash     BYTEA       NOT NULL,
    hash          BYTEA       NOT NULL UNIQUE
);

-- Whose data each entry touched, for a person's access report. Written with the entry.
CREATE TABLE audit_log_subjects (
    subject_token TEXT   NOT NULL,
    seq           BIGINT NOT NULL REFERENCES audit_log (seq),
    PRIMARY KEY (subject_token, seq)
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_subjects_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log_subjects
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_subjects_no_truncate
    BEFORE TRUNCATE ON audit_log_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
