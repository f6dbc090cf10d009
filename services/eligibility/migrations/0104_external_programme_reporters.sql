-- Who reports a programme the catalogue does not list: the first agency that reported it.
-- Every ReportExternalEnrolment of such a programme looks for another agency's report of
-- it, ended ones included, which the index on current enrolments does not cover.
CREATE INDEX enrolments_external_programme ON enrolments (programme_code, reporting_opd) WHERE source = 'external';
