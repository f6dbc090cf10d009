-- The supervisors' dashboard counts, kept as running totals beside the tracker's tables.
--
-- A count over the regency read every case and every need (8.9 s at p95 over a million
-- cases, 12 s per agency); with these tables it sums a few rows per district asked for.
-- They are kept per district, the finest level the dashboard shows: a count of one village
-- is read from its cases, which an index finds directly. The totals are kept by triggers rather than by the projector's code so that every
-- writer of the tracker's tables (the projector, the desk's own steps, the rebuild, a
-- repair by hand) keeps them right by construction, in the writer's own transaction.
--
-- Counts with a filter these totals cannot answer (two marks at once, "not overdue", opening
-- dates, a village) are still computed from the tracker's tables; the answers are the same
-- either way, and a test compares them.

-- Cases per status and district of the applicant's address (`33.75.04`).
CREATE TABLE case_count_cells (
    status        TEXT   NOT NULL,
    district_code TEXT   NOT NULL,
    cases         BIGINT NOT NULL,
    PRIMARY KEY (status, district_code)
) WITH (fillfactor = 70);

-- How many needs of each case carry a counted mark: the agency a need is referred to
-- ('opd'), the programme it was granted under ('programme'), or being overdue ('overdue',
-- code ''). A case counts once per mark however many of its needs carry it.
CREATE TABLE case_marks (
    case_id UUID NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('opd', 'programme', 'overdue')),
    code    TEXT NOT NULL,
    needs   INT  NOT NULL CHECK (needs > 0),
    PRIMARY KEY (case_id, kind, code)
) WITH (fillfactor = 70);

-- Cases per pair of marks, status and district: the cases that carry both `kind`/`code`
-- and `with_kind`/`with_code`. A mark paired with itself counts the cases that carry it
-- (the dashboard's "per agency"); paired with another, it answers the same dashboard for
-- one agency, programme or the overdue cases ("of DINSOS's cases, how many are PKH").
CREATE TABLE case_mark_cells (
    kind          TEXT   NOT NULL,
    code          TEXT   NOT NULL,
    with_kind     TEXT   NOT NULL,
    with_code     TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    district_code TEXT   NOT NULL,
    cases         BIGINT NOT NULL,
    PRIMARY KEY (with_kind, with_code, kind, code, status, district_code)
) WITH (fillfactor = 70);

-- A count reads the cells of some districts (a region is a prefix of whole segments, read
-- as a range) of every mark with itself, or of every mark with one mark: each read is one
-- index's range. No index holds `cases`, the column every bump changes, and the tables
-- leave room on each page, so that a bump rewrites its row in place (a heap-only update)
-- instead of adding an entry to every index: covering the counts in the indexes made a
-- bulk load of a million cases several times slower.
CREATE INDEX case_count_cells_district ON case_count_cells (district_code text_pattern_ops);
CREATE INDEX case_mark_cells_own ON case_mark_cells (district_code text_pattern_ops, kind, code)
    WHERE kind = with_kind AND code = with_code;
CREATE INDEX case_mark_cells_with ON case_mark_cells (with_kind, with_code, district_code text_pattern_ops);

-- `p_region` is the applicant's address (a village code); the cell is its district.
CREATE FUNCTION bump_case_cell(p_status TEXT, p_region TEXT, p_delta BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO case_count_cells AS cell (status, district_code, cases)
    VALUES (p_status, substr(p_region, 1, 8), p_delta)
    ON CONFLICT (status, district_code) DO UPDATE SET cases = cell.cases + EXCLUDED.cases;
$$;

CREATE FUNCTION bump_mark_cell(
    p_kind TEXT, p_code TEXT, p_with_kind TEXT, p_with_code TEXT, p_status TEXT, p_region TEXT, p_delta BIGINT
) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO case_mark_cells AS cell (kind, code, with_kind, with_code, status, district_code, cases)
    VALUES (p_kind, p_code, p_with_kind, p_with_code, p_status, substr(p_region, 1, 8), p_delta)
    ON CONFLICT (with_kind, with_code, kind, code, status, district_code)
    DO UPDATE SET cases = cell.cases + EXCLUDED.cases;
$$;

-- One need of a case gains (+1) or loses (-1) a mark; the case enters or leaves the mark's
-- cells (with itself and with each other mark the case carries) when its first need gains
-- it or its last need loses it.
CREATE FUNCTION mark_need(p_case UUID, p_kind TEXT, p_code TEXT, p_delta INT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_after  INT;
    v_sign   INT;
    v_status TEXT;
    v_region TEXT;
BEGIN
    IF p_delta > 0 THEN
        INSERT INTO case_marks AS mark (case_id, kind, code, needs)
        VALUES (p_case, p_kind, p_code, p_delta)
        ON CONFLICT (case_id, kind, code) DO UPDATE SET needs = mark.needs + EXCLUDED.needs
        RETURNING needs INTO v_after;
    ELSE
        UPDATE case_marks SET needs = needs + p_delta
        WHERE case_id = p_case AND kind = p_kind AND code = p_code AND needs + p_delta > 0
        RETURNING needs INTO v_after;
        IF NOT FOUND THEN
            DELETE FROM case_marks WHERE case_id = p_case AND kind = p_kind AND code = p_code;
            v_after := 0;
        END IF;
    END IF;
    IF (v_after > 0) = (v_after - p_delta > 0) THEN
        RETURN;
    END IF;
    SELECT status, region_code INTO v_status, v_region FROM tracked_cases WHERE case_id = p_case;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_sign := CASE WHEN v_after > 0 THEN 1 ELSE -1 END;
    PERFORM bump_mark_cell(p_kind, p_code, p_kind, p_code, v_status, v_region, v_sign);
    -- The mark's own row is in case_marks when it was gained and gone when it was lost, so
    -- `others` are the case's other marks either way.
    PERFORM bump_mark_cell(p_kind, p_code, other.kind, other.code, v_status, v_region, v_sign),
            bump_mark_cell(other.kind, other.code, p_kind, p_code, v_status, v_region, v_sign)
    FROM case_marks other
    WHERE other.case_id = p_case AND (other.kind, other.code) <> (p_kind, p_code);
END;
$$;

-- A need's marks before and after a change; only the marks that differ move.
CREATE FUNCTION tracked_needs_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_old_overdue BOOLEAN := false;
    v_new_overdue BOOLEAN := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        v_old_overdue := OLD.overdue_clock IS NOT NULL OR OLD.escalation_level > 0;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_new_overdue := NEW.overdue_clock IS NOT NULL OR NEW.escalation_level > 0;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.case_id = NEW.case_id THEN
        IF OLD.opd_code IS DISTINCT FROM NEW.opd_code THEN
            IF OLD.opd_code IS NOT NULL THEN PERFORM mark_need(OLD.case_id, 'opd', OLD.opd_code, -1); END IF;
            IF NEW.opd_code IS NOT NULL THEN PERFORM mark_need(NEW.case_id, 'opd', NEW.opd_code, 1); END IF;
        END IF;
        IF OLD.programme_code IS DISTINCT FROM NEW.programme_code THEN
            IF OLD.programme_code IS NOT NULL THEN
                PERFORM mark_need(OLD.case_id, 'programme', OLD.programme_code, -1);
            END IF;
            IF NEW.programme_code IS NOT NULL THEN
                PERFORM mark_need(NEW.case_id, 'programme', NEW.programme_code, 1);
            END IF;
        END IF;
        IF v_old_overdue <> v_new_overdue THEN
            PERFORM mark_need(NEW.case_id, 'overdue', '', CASE WHEN v_new_overdue THEN 1 ELSE -1 END);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF OLD.opd_code IS NOT NULL THEN PERFORM mark_need(OLD.case_id, 'opd', OLD.opd_code, -1); END IF;
        IF OLD.programme_code IS NOT NULL THEN
            PERFORM mark_need(OLD.case_id, 'programme', OLD.programme_code, -1);
        END IF;
        IF v_old_overdue THEN PERFORM mark_need(OLD.case_id, 'overdue', '', -1); END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.opd_code IS NOT NULL THEN PERFORM mark_need(NEW.case_id, 'opd', NEW.opd_code, 1); END IF;
        IF NEW.programme_code IS NOT NULL THEN
            PERFORM mark_need(NEW.case_id, 'programme', NEW.programme_code, 1);
        END IF;
        IF v_new_overdue THEN PERFORM mark_need(NEW.case_id, 'overdue', '', 1); END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tracked_needs_count
AFTER INSERT OR DELETE OR UPDATE OF case_id, opd_code, programme_code, overdue_clock, escalation_level
ON tracked_needs FOR EACH ROW EXECUTE FUNCTION tracked_needs_count();

-- A case enters, leaves or moves between cells, and its marks move with it.
CREATE FUNCTION tracked_cases_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.region_code = NEW.region_code
       AND OLD.case_id = NEW.case_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM bump_case_cell(OLD.status, OLD.region_code, -1);
        PERFORM bump_mark_cell(a.kind, a.code, b.kind, b.code, OLD.status, OLD.region_code, -1)
        FROM case_marks a JOIN case_marks b ON b.case_id = a.case_id
        WHERE a.case_id = OLD.case_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM bump_case_cell(NEW.status, NEW.region_code, 1);
        PERFORM bump_mark_cell(a.kind, a.code, b.kind, b.code, NEW.status, NEW.region_code, 1)
        FROM case_marks a JOIN case_marks b ON b.case_id = a.case_id
        WHERE a.case_id = NEW.case_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tracked_cases_count
AFTER INSERT OR DELETE OR UPDATE OF case_id, status, region_code
ON tracked_cases FOR EACH ROW EXECUTE FUNCTION tracked_cases_count();

-- What the tracker already holds.
INSERT INTO case_count_cells (status, district_code, cases)
SELECT status, substr(region_code, 1, 8), count(*) FROM tracked_cases GROUP BY 1, 2;

INSERT INTO case_marks (case_id, kind, code, needs)
SELECT case_id, 'opd', opd_code, count(*) FROM tracked_needs WHERE opd_code IS NOT NULL GROUP BY 1, 3
UNION ALL
SELECT case_id, 'programme', programme_code, count(*) FROM tracked_needs
WHERE programme_code IS NOT NULL GROUP BY 1, 3
UNION ALL
SELECT case_id, 'overdue', '', count(*) FROM tracked_needs
WHERE overdue_clock IS NOT NULL OR escalation_level > 0 GROUP BY 1;

INSERT INTO case_mark_cells (kind, code, with_kind, with_code, status, district_code, cases)
SELECT a.kind, a.code, b.kind, b.code, c.status, substr(c.region_code, 1, 8), count(*)
FROM case_marks a JOIN case_marks b USING (case_id) JOIN tracked_cases c USING (case_id)
GROUP BY 1, 2, 3, 4, 5, 6;
