//! Opening a case: the applicant and the needs, validated at the boundary.

use chrono::NaiveDate;
use slrt_identity::{KkNumber, Nik, RegionCode, RegionLevel, Sex};

use super::complaint::{Complaint, ComplaintInput};

pub use slrt_vocabulary::NeedCategory;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    Application,
    Complaint,
}

impl CaseKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Complaint => "complaint",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Application, Self::Complaint]
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// The applicant as declared at the desk, validated.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub nik: Nik,
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub region: RegionCode,
    pub kk: KkNumber,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNeed {
    pub category: NeedCategory,
    pub description: String,
}

/// A validated request to open a case.
#[derive(Debug, Clone)]
pub struct OpenCase {
    pub kind: CaseKind,
    pub applicant: Applicant,
    pub needs: Vec<NewNeed>,
    /// What the complaint is about; `Some` exactly when `kind` is a complaint.
    pub complaint: Option<Complaint>,
    pub desk_region: RegionCode,
    pub opened_by: String,
    /// Non-blocking findings for the operator (e.g. the NIK disagrees with the birth date).
    pub warnings: Vec<String>,
}

/// Raw desk input, as strings, before validation.
#[derive(Debug, Clone, Default)]
pub struct OpenCaseInput {
    /// "application" (the default when empty) or "complaint".
    pub kind: String,
    pub complaint: Option<ComplaintInput>,
    pub nik: String,
    pub full_name: String,
    pub birth_date: String,
    pub sex: String,
    pub region_code: String,
    pub kk_number: String,
    pub needs: Vec<(String, String)>,
    pub desk_region_code: String,
    pub opened_by: String,
}

/// Why a case cannot be opened; `field` is the JSON path of the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OpenCaseError {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> OpenCaseError {
    OpenCaseError {
        field: field.into(),
        message: message.into(),
    }
}

pub const MAX_NEEDS: usize = 10;
const MAX_NAME_CHARS: usize = 120;
const MAX_DESCRIPTION_CHARS: usize = 1000;

impl OpenCase {
    /// Validates desk input as of `today`. The first problem found is reported, naming its field.
    pub fn parse(input: OpenCaseInput, today: NaiveDate) -> Result<OpenCase, OpenCaseError> {
        let kind = match input.kind.trim() {
            "" => CaseKind::Application,
            code => CaseKind::parse(code).ok_or_else(|| {
                invalid(
                    "kind",
                    format!("{code:?} is not a case kind (application or complaint)"),
                )
            })?,
        };
        let nik = Nik::parse_at(&input.nik, today).map_err(|error| invalid("applicant.nik", error.to_string()))?;
        let full_name = input.full_name.split_whitespace().collect::<Vec<_>>().join(" ");
        if full_name.is_empty() {
            return Err(invalid("applicant.full_name", "full name is required"));
        }
        if full_name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                "applicant.full_name",
                format!("full name is longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        let birth_date = NaiveDate::parse_from_str(input.birth_date.trim(), "%Y-%m-%d").map_err(|_| {
            invalid(
                "applicant.birth_date",
                "birth date must be a real date written YYYY-MM-DD",
            )
        })?;
        if birth_date > today {
            return Err(invalid("applicant.birth_date", "birth date is in the future"));
        }
        let sex = Sex::parse(&input.sex).map_err(|_| invalid("applicant.sex", "sex must be M or F (L or P)"))?;
        let region = village(&input.region_code, "applicant.region_code")?;
        let kk = KkNumber::parse_at(&input.kk_number, today)
            .map_err(|error| invalid("applicant.kk_number", error.to_string()))?;
        let desk_region = RegionCode::parse(&input.desk_region_code)
            .map_err(|error| invalid("desk_region_code", error.to_string()))?;

        let complaint = match (kind, input.complaint) {
            (CaseKind::Complaint, Some(complaint)) => Some(Complaint::parse(complaint, today)?),
            (CaseKind::Complaint, None) => {
                return Err(invalid("complaint", "a complaint case needs its complaint"));
            }
            (CaseKind::Application, Some(_)) => {
                return Err(invalid("complaint", "only a case of kind complaint has a complaint"));
            }
            (CaseKind::Application, None) => None,
        };
        match &complaint {
            None if input.needs.is_empty() => {
                return Err(invalid("needs", "at least one need is required"));
            }
            Some(complaint) if !input.needs.is_empty() && !complaint.may_carry_needs() => {
                return Err(invalid(
                    "needs",
                    "only an exclusion-error grievance may ask for needs (the complainant asks to be assessed)",
                ));
            }
            _ => {}
        }
        if input.needs.len() > MAX_NEEDS {
            return Err(invalid("needs", format!("at most {MAX_NEEDS} needs per case")));
        }
        let mut needs: Vec<NewNeed> = Vec::with_capacity(input.needs.len());
        for (index, (category, description)) in input.needs.iter().enumerate() {
            let field = format!("needs[{index}].category");
            let category = NeedCategory::parse(category.trim()).map_err(|error| invalid(&field, error.to_string()))?;
            if needs.iter().any(|need| need.category == category) {
                return Err(invalid(&field, format!("need {category} is listed twice")));
            }
            if description.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(invalid(
                    format!("needs[{index}].description"),
                    format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
                ));
            }
            needs.push(NewNeed {
                category,
                description: description.trim().to_string(),
            });
        }
        let opened_by = input.opened_by.trim().to_string();
        if opened_by.is_empty() {
            return Err(invalid("opened_by", "the operator who registers the case is required"));
        }

        let warnings = nik
            .check_declared(birth_date, sex)
            .iter()
            .map(ToString::to_string)
            .collect();
        Ok(OpenCase {
            kind,
            complaint,
            applicant: Applicant {
                nik,
                full_name,
                birth_date,
                sex,
                region,
                kk,
            },
            needs,
            desk_region,
            opened_by,
            warnings,
        })
    }
}

fn village(code: &str, field: &str) -> Result<RegionCode, OpenCaseError> {
    let region = RegionCode::parse(code).map_err(|error| invalid(field, error.to_string()))?;
    if region.level() != RegionLevel::Village {
        return Err(invalid(
            field,
            "an address needs a village (desa/kelurahan) code such as 33.75.01.1002",
        ));
    }
    Ok(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
    }

    fn input() -> OpenCaseInput {
        OpenCaseInput {
            kind: String::new(),
            complaint: None,
            nik: "3375014506850003".into(),
            full_name: "  Siti   Aminah ".into(),
            birth_date: "1985-06-05".into(),
            sex: "F".into(),
            region_code: "33.75.01.1002".into(),
            kk_number: "3375011203150004".into(),
            needs: vec![("cash_assistance".into(), "lost her job".into())],
            desk_region_code: "33.75.01.1002".into(),
            opened_by: "fo-pekalongan-1".into(),
        }
    }

    fn field_of(result: Result<OpenCase, OpenCaseError>) -> String {
        match result {
            Ok(_) => "accepted".into(),
            Err(error) => error.field,
        }
    }

    #[test]
    fn a_complete_application_is_accepted_with_its_name_tidied() {
        let case = OpenCase::parse(input(), today());
        let Ok(case) = case else { panic!("{case:?}") };
        assert_eq!(case.applicant.full_name, "Siti Aminah");
        assert!(case.warnings.is_empty(), "{:?}", case.warnings);
    }

    #[test]
    fn a_nik_that_disagrees_with_the_declared_birth_date_is_a_warning_not_an_error() {
        let mut desk = input();
        desk.birth_date = "1985-06-06".into();
        let Ok(case) = OpenCase::parse(desk, today()) else {
            panic!("rejected")
        };
        assert_eq!(case.warnings.len(), 1, "{:?}", case.warnings);
    }

    #[test]
    fn a_complaint_needs_no_needs_and_an_exclusion_grievance_may_carry_them() {
        let mut question = input();
        question.kind = "complaint".into();
        question.needs.clear();
        question.complaint = Some(ComplaintInput {
            complaint_type: "question".into(),
            statement: "when is the next BPNT stage paid?".into(),
            ..ComplaintInput::default()
        });
        let Ok(case) = OpenCase::parse(question, today()) else {
            panic!("rejected")
        };
        assert_eq!(case.kind, CaseKind::Complaint);
        assert!(case.needs.is_empty());

        let mut excluded = input();
        excluded.kind = "complaint".into();
        excluded.complaint = Some(ComplaintInput {
            complaint_type: "grievance".into(),
            grievance_type: Some("exclusion_error".into()),
            statement: "we are poor and receive nothing".into(),
            reported: None,
        });
        let Ok(case) = OpenCase::parse(excluded, today()) else {
            panic!("rejected")
        };
        assert_eq!(case.needs.len(), 1);
    }

    #[test]
    fn each_bad_field_is_named() {
        type Spoiler = fn(&mut OpenCaseInput);
        let cases: Vec<(Spoiler, &str)> = vec![
            (|i| i.nik = "123".into(), "applicant.nik"),
            (|i| i.full_name = "   ".into(), "applicant.full_name"),
            (|i| i.birth_date = "05-06-1985".into(), "applicant.birth_date"),
            (|i| i.birth_date = "2030-01-01".into(), "applicant.birth_date"),
            (|i| i.sex = "X".into(), "applicant.sex"),
            (|i| i.region_code = "33.75".into(), "applicant.region_code"),
            (|i| i.region_code = "99.99.99.9999".into(), "applicant.region_code"),
            (|i| i.kk_number = "3375010000000000".into(), "applicant.kk_number"),
            (|i| i.desk_region_code = "nowhere".into(), "desk_region_code"),
            (|i| i.needs.clear(), "needs"),
            (
                |i| i.needs = vec![("spaceship".into(), String::new())],
                "needs[0].category",
            ),
            (
                |i| {
                    i.needs = vec![
                        ("school_aid".into(), String::new()),
                        ("school_aid".into(), String::new()),
                    ]
                },
                "needs[1].category",
            ),
            (|i| i.opened_by = String::new(), "opened_by"),
            (|i| i.kind = "petition".into(), "kind"),
            (|i| i.kind = "complaint".into(), "complaint"),
            (
                |i| {
                    i.complaint = Some(ComplaintInput {
                        complaint_type: "question".into(),
                        statement: "when?".into(),
                        ..ComplaintInput::default()
                    })
                },
                "complaint",
            ),
            (
                |i| {
                    i.kind = "complaint".into();
                    i.complaint = Some(ComplaintInput {
                        complaint_type: "question".into(),
                        statement: "when is BPNT paid?".into(),
                        ..ComplaintInput::default()
                    });
                },
                "needs",
            ),
        ];
        for (spoil, field) in cases {
            let mut desk = input();
            spoil(&mut desk);
            assert_eq!(field_of(OpenCase::parse(desk, today())), field);
        }
    }
}
