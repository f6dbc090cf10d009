-- Bulk import of registry files (slrt-registry-import): the columns the import format adds,
-- a fingerprint of each row as last written, and one checkpoint per file.

-- Unknown (NULL) where the file does not say. Dwelling and assets are the household's, the
-- same on every member's row, like desil.
ALTER TABLE registry_people
    ADD COLUMN deceased_on    DATE,
    ADD COLUMN floor          TEXT CHECK (floor IN ('earth', 'bamboo', 'wood', 'cement', 'tile', 'other')),
    ADD COLUMN wall           TEXT CHECK (wall IN ('bamboo', 'wood', 'brick', 'other')),
    ADD COLUMN roof           TEXT CHECK (roof IN ('thatch', 'bamboo', 'wood', 'zinc', 'asbestos', 'tile', 'concrete', 'other')),
    ADD COLUMN owns_car       BOOLEAN,
    ADD COLUMN owns_motorbike BOOLEAN,
    ADD COLUMN owns_land      BOOLEAN,
    -- SHA-256 of the registry row as the file last gave it (RegistryRow::content_hash), so a
    -- re-import skips unchanged rows without comparing columns. NULL for rows written before.
    ADD COLUMN content_hash   BYTEA;

-- One row per registry file (by its SHA-256): how far its import got. Each batch of rows
-- commits together with this row, so after a crash a rerun continues after `last_line` and
-- cuts the rejects file back to `rejects_bytes`. Counts are the run's totals so far.
CREATE TABLE registry_imports (
    file_sha256       TEXT PRIMARY KEY,
    file_name         TEXT        NOT NULL,
    file_bytes        BIGINT      NOT NULL,
    rejects_path      TEXT        NOT NULL,
    last_line         BIGINT      NOT NULL DEFAULT 0,
    rejects_bytes     BIGINT      NOT NULL DEFAULT 0,
    rows_read         BIGINT      NOT NULL DEFAULT 0,
    inserted          BIGINT      NOT NULL DEFAULT 0,
    updated           BIGINT      NOT NULL DEFAULT 0,
    unchanged         BIGINT      NOT NULL DEFAULT 0,
    rejected          BIGINT      NOT NULL DEFAULT 0,
    enrolments_seeded BIGINT      NOT NULL DEFAULT 0,
    nik_warnings      BIGINT      NOT NULL DEFAULT 0,
    started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- NULL while the run is unfinished; a rerun of a finished file starts a new run.
    completed_at      TIMESTAMPTZ
);
