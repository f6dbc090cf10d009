-- Access control (issue 7): the areas of duplicate pairs, the maker/checker of merges, and
-- the applicant of a case for the keyed NIK token of every audit record about it. The
-- audit_log and access_grants tables come from slrt-audit's own migrations.

-- The applicant's record of each case (and so the NIK the audit record names), for a case
-- and for every case of a list page in one look-up.
CREATE INDEX person_cases_case ON person_cases (case_id);

-- A pair touches two records, often of two areas (someone registered again where they
-- live now): the back office of either area adjudicates it. The regions are the address
-- regions of the two records; the other side of a member_of_another_household pair is the
-- household the desk declared.
ALTER TABLE duplicate_suspects ADD COLUMN region_code TEXT;
ALTER TABLE duplicate_suspects ADD COLUMN other_region_code TEXT;
UPDATE duplicate_suspects d SET region_code = p.region_code
FROM people p WHERE p.person_id = d.person_id;
UPDATE duplicate_suspects d SET other_region_code = p.region_code
FROM people p WHERE p.person_id = d.other_person_id;
UPDATE duplicate_suspects d SET other_region_code = h.region_code
FROM households h WHERE h.household_id = d.declared_household_id AND d.other_person_id IS NULL;

-- Area filters are prefix ranges under the pattern operators (as for tracked_cases).
CREATE INDEX duplicate_suspects_region ON duplicate_suspects (region_code text_pattern_ops, duplicate_id);
CREATE INDEX duplicate_suspects_other_region ON duplicate_suspects (other_region_code text_pattern_ops, duplicate_id);

-- Maker/checker: `same_person` is proposed by one person and confirmed or rejected by
-- another (a coordinator); a rejected proposal sends the pair back to 'open'.
ALTER TABLE duplicate_suspects DROP CONSTRAINT duplicate_suspects_status_check;
ALTER TABLE duplicate_suspects
    ADD CONSTRAINT duplicate_suspects_status_check CHECK (status IN ('open', 'merge_proposed', 'decided'));
-- The proposal awaiting a checker, or the one a checker confirmed.
ALTER TABLE duplicate_suspects ADD COLUMN proposed_survivor_person_id UUID;
ALTER TABLE duplicate_suspects ADD COLUMN proposed_by TEXT;
ALTER TABLE duplicate_suspects ADD COLUMN proposal_reason TEXT;
ALTER TABLE duplicate_suspects ADD COLUMN proposed_at TIMESTAMPTZ;
-- The last rejected proposal (every one is in the pair's stream).
ALTER TABLE duplicate_suspects ADD COLUMN rejected_by TEXT;
ALTER TABLE duplicate_suspects ADD COLUMN rejection_reason TEXT;
ALTER TABLE duplicate_suspects ADD COLUMN rejected_at TIMESTAMPTZ;
