-- Temporary access outside one's area (slrt-audit). A coordinator or supervisor of an area
-- lets one named person act in it until a set time, for a stated reason; the grant and its
-- every use are in the audit log. Rows are never deleted: an ended grant stays readable, so
-- an auditor can see who could act where and when.
CREATE TABLE access_grants (
    id             UUID        PRIMARY KEY,
    -- The token subject of the person let in.
    grantee        TEXT        NOT NULL,
    -- The Kemendagri code of the area (and everything inside it) they may act in.
    region         TEXT        NOT NULL,
    reason         TEXT        NOT NULL,
    granted_by     TEXT        NOT NULL,
    granted_at     TIMESTAMPTZ NOT NULL,
    valid_until    TIMESTAMPTZ NOT NULL CHECK (valid_until > granted_at),
    revoked_at     TIMESTAMPTZ,
    revoked_by     TEXT,
    revoke_reason  TEXT
);
CREATE INDEX access_grants_grantee ON access_grants (grantee, valid_until);

CREATE FUNCTION access_grants_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_grants keeps every grant: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER access_grants_no_delete
    BEFORE DELETE ON access_grants
    FOR EACH ROW EXECUTE FUNCTION access_grants_refuse_delete();
