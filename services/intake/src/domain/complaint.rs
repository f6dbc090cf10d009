//! Complaints taken at the desk (DOMAIN.md §3): questions, suggestions and grievances, and
//! the report of a person who should not receive aid (an inclusion error), validated at the
//! boundary like an applicant is.

use chrono::NaiveDate;
use slrt_identity::{KkNumber, Nik, RegionCode, RegionLevel};

use super::case::OpenCaseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplaintType {
    Question,
    Suggestion,
    Grievance,
}

impl ComplaintType {
    pub const ALL: [Self; 3] = [Self::Question, Self::Suggestion, Self::Grievance];

    pub fn code(self) -> &'static str {
        match self {
            Self::Question => "question",
            Self::Suggestion => "suggestion",
            Self::Grievance => "grievance",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Questions and suggestions are settled by the desk's answer; grievances by what is
    /// done about them.
    pub fn is_answerable(self) -> bool {
        matches!(self, Self::Question | Self::Suggestion)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrievanceType {
    /// "I am poor and get nothing": may carry needs, so the person is assessed.
    ExclusionError,
    /// "This person should not get aid": names the person; eligibility verifies.
    InclusionError,
    /// About an agency's service.
    Service,
    Other,
}

impl GrievanceType {
    pub const ALL: [Self; 4] = [Self::ExclusionError, Self::InclusionError, Self::Service, Self::Other];

    pub fn code(self) -> &'static str {
        match self {
            Self::ExclusionError => "exclusion_error",
            Self::InclusionError => "inclusion_error",
            Self::Service => "service",
            Self::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// Why a reported person should not receive aid, as the reporter says.
pub const REPORT_GROUNDS: [&str; 5] = ["deceased", "vehicle", "payroll", "wealth", "other"];

/// The person an inclusion-error report names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedSubject {
    pub nik: Option<Nik>,
    pub kk: Option<KkNumber>,
    pub full_name: String,
    pub region: RegionCode,
    pub programme_code: Option<String>,
    pub ground: String,
}

/// A validated complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    pub complaint_type: ComplaintType,
    pub grievance_type: Option<GrievanceType>,
    pub statement: String,
    pub reported: Option<ReportedSubject>,
}

impl Complaint {
    /// Only an exclusion-error grievance may ask for needs: the complainant asks to be
    /// assessed. Every other complaint is about something other than the complainant's needs.
    pub fn may_carry_needs(&self) -> bool {
        self.grievance_type == Some(GrievanceType::ExclusionError)
    }

    pub fn is_inclusion_report(&self) -> bool {
        self.grievance_type == Some(GrievanceType::InclusionError)
    }
}

/// Raw complaint input, as strings, before validation.
#[derive(Debug, Clone, Default)]
pub struct ComplaintInput {
    pub complaint_type: String,
    pub grievance_type: Option<String>,
    pub statement: String,
    pub reported: Option<ReportedInput>,
}

#[derive(Debug, Clone, Default)]
pub struct ReportedInput {
    pub nik: Option<String>,
    pub kk_number: Option<String>,
    pub full_name: String,
    pub region_code: String,
    pub programme_code: Option<String>,
    pub ground: String,
}

const MAX_STATEMENT_CHARS: usize = 4000;
const MAX_NAME_CHARS: usize = 120;

fn invalid(field: &str, message: impl Into<String>) -> OpenCaseError {
    OpenCaseError {
        field: field.to_string(),
        message: message.into(),
    }
}

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> String {
    all.iter().map(|item| code(*item)).collect::<Vec<_>>().join(", ")
}

impl Complaint {
    /// Validates a complaint as of `today`; the first problem found is reported, naming its
    /// field (under `complaint.`).
    pub fn parse(input: ComplaintInput, today: NaiveDate) -> Result<Self, OpenCaseError> {
        let complaint_type = ComplaintType::parse(input.complaint_type.trim()).ok_or_else(|| {
            invalid(
                "complaint.complaint_type",
                format!(
                    "{:?} is not a complaint type (one of: {})",
                    input.complaint_type,
                    codes(&ComplaintType::ALL, ComplaintType::code)
                ),
            )
        })?;
        let grievance_type = match (complaint_type, input.grievance_type.as_deref().map(str::trim)) {
            (ComplaintType::Grievance, Some(code)) => Some(GrievanceType::parse(code).ok_or_else(|| {
                invalid(
                    "complaint.grievance_type",
                    format!(
                        "{code:?} is not a grievance type (one of: {})",
                        codes(&GrievanceType::ALL, GrievanceType::code)
                    ),
                )
            })?),
            (ComplaintType::Grievance, None) => {
                return Err(invalid(
                    "complaint.grievance_type",
                    format!(
                        "a grievance needs its type (one of: {})",
                        codes(&GrievanceType::ALL, GrievanceType::code)
                    ),
                ));
            }
            (_, Some(_)) => {
                return Err(invalid(
                    "complaint.grievance_type",
                    "only a grievance has a grievance type",
                ));
            }
            (_, None) => None,
        };
        let statement = input.statement.trim().to_string();
        if statement.is_empty() {
            return Err(invalid(
                "complaint.statement",
                "the complainant's statement is required",
            ));
        }
        if statement.chars().count() > MAX_STATEMENT_CHARS {
            return Err(invalid(
                "complaint.statement",
                format!("statement is longer than {MAX_STATEMENT_CHARS} characters"),
            ));
        }
        let reported = match (grievance_type, input.reported) {
            (Some(GrievanceType::InclusionError), Some(reported)) => Some(parse_reported(reported, today)?),
            (Some(GrievanceType::InclusionError), None) => {
                return Err(invalid(
                    "complaint.reported",
                    "an inclusion-error report must name the person (NIK and/or KK, name, village)",
                ));
            }
            (_, Some(_)) => {
                return Err(invalid(
                    "complaint.reported",
                    "only an inclusion-error grievance names a reported person",
                ));
            }
            (_, None) => None,
        };
        Ok(Self {
            complaint_type,
            grievance_type,
            statement,
            reported,
        })
    }
}

fn parse_reported(input: ReportedInput, today: NaiveDate) -> Result<ReportedSubject, OpenCaseError> {
    let present = |text: Option<String>| text.map(|text| text.trim().to_string()).filter(|text| !text.is_empty());
    let nik = present(input.nik)
        .map(|text| Nik::parse_at(&text, today).map_err(|error| invalid("complaint.reported.nik", error.to_string())))
        .transpose()?;
    let kk = present(input.kk_number)
        .map(|text| {
            KkNumber::parse_at(&text, today).map_err(|error| invalid("complaint.reported.kk_number", error.to_string()))
        })
        .transpose()?;
    if nik.is_none() && kk.is_none() {
        return Err(invalid(
            "complaint.reported.nik",
            "the reported person's NIK or family card (KK) number is required",
        ));
    }
    let full_name = input.full_name.split_whitespace().collect::<Vec<_>>().join(" ");
    if full_name.is_empty() {
        return Err(invalid(
            "complaint.reported.full_name",
            "the reported person's name is required",
        ));
    }
    if full_name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "complaint.reported.full_name",
            format!("name is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    let region = RegionCode::parse(input.region_code.trim())
        .map_err(|error| invalid("complaint.reported.region_code", error.to_string()))?;
    if region.level() != RegionLevel::Village {
        return Err(invalid(
            "complaint.reported.region_code",
            "an address needs a village (desa/kelurahan) code such as 33.75.01.1002",
        ));
    }
    let programme_code = present(input.programme_code)
        .map(|code| {
            let well_formed = code.len() <= 32
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if well_formed {
                Ok(code)
            } else {
                Err(invalid(
                    "complaint.reported.programme_code",
                    "must be an upper-case programme code such as PKH or BLT-DD",
                ))
            }
        })
        .transpose()?;
    let ground = input.ground.trim().to_string();
    if !REPORT_GROUNDS.contains(&ground.as_str()) {
        return Err(invalid(
            "complaint.reported.ground",
            format!("{ground:?} is not a ground (one of: {})", REPORT_GROUNDS.join(", ")),
        ));
    }
    Ok(ReportedSubject {
        nik,
        kk,
        full_name,
        region,
        programme_code,
        ground,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
    }

    fn inclusion() -> ComplaintInput {
        ComplaintInput {
            complaint_type: "grievance".into(),
            grievance_type: Some("inclusion_error".into()),
            statement: "my neighbour owns two cars and receives PKH".into(),
            reported: Some(ReportedInput {
                nik: Some("3375021501780001".into()),
                kk_number: None,
                full_name: "Darto".into(),
                region_code: "33.75.02.1004".into(),
                programme_code: Some("PKH".into()),
                ground: "vehicle".into(),
            }),
        }
    }

    fn field_of(result: Result<Complaint, OpenCaseError>) -> String {
        match result {
            Ok(_) => "accepted".into(),
            Err(error) => error.field,
        }
    }

    #[test]
    fn an_inclusion_report_naming_the_person_by_nik_or_kk_is_accepted() {
        let Ok(complaint) = Complaint::parse(inclusion(), today()) else {
            panic!("rejected")
        };
        assert!(complaint.is_inclusion_report());
        assert!(!complaint.may_carry_needs());
        let mut by_kk = inclusion();
        if let Some(reported) = by_kk.reported.as_mut() {
            reported.nik = None;
            reported.kk_number = Some("3375020409120011".into());
        }
        assert_eq!(field_of(Complaint::parse(by_kk, today())), "accepted");
    }

    #[test]
    fn a_question_needs_only_its_statement() {
        let question = ComplaintInput {
            complaint_type: "question".into(),
            statement: "when is the next BPNT stage paid?".into(),
            ..ComplaintInput::default()
        };
        let Ok(complaint) = Complaint::parse(question, today()) else {
            panic!("rejected")
        };
        assert!(complaint.complaint_type.is_answerable());
        assert_eq!(complaint.grievance_type, None);
    }

    #[test]
    fn each_bad_field_is_named() {
        type Spoiler = fn(&mut ComplaintInput);
        fn reported(input: &mut ComplaintInput) -> &mut ReportedInput {
            input.reported.get_or_insert_with(ReportedInput::default)
        }
        let cases: Vec<(Spoiler, &str)> = vec![
            (|i| i.complaint_type = "rant".into(), "complaint.complaint_type"),
            (|i| i.grievance_type = None, "complaint.grievance_type"),
            (|i| i.grievance_type = Some("fraud".into()), "complaint.grievance_type"),
            (
                |i| {
                    i.complaint_type = "question".into();
                    i.reported = None;
                },
                "complaint.grievance_type",
            ),
            (|i| i.statement = "  ".into(), "complaint.statement"),
            (|i| i.reported = None, "complaint.reported"),
            (
                |i| {
                    i.grievance_type = Some("service".into());
                },
                "complaint.reported",
            ),
            (
                |i| {
                    reported(i).nik = None;
                },
                "complaint.reported.nik",
            ),
            (|i| reported(i).nik = Some("123".into()), "complaint.reported.nik"),
            (
                |i| reported(i).kk_number = Some("3375010000000000".into()),
                "complaint.reported.kk_number",
            ),
            (|i| reported(i).full_name = " ".into(), "complaint.reported.full_name"),
            (
                |i| reported(i).region_code = "33.75".into(),
                "complaint.reported.region_code",
            ),
            (
                |i| reported(i).region_code = "99.99.99.9999".into(),
                "complaint.reported.region_code",
            ),
            (
                |i| reported(i).programme_code = Some("pkh".into()),
                "complaint.reported.programme_code",
            ),
            (|i| reported(i).ground = "envy".into(), "complaint.reported.ground"),
        ];
        for (spoil, field) in cases {
            let mut input = inclusion();
            spoil(&mut input);
            assert_eq!(field_of(Complaint::parse(input, today())), field);
        }
    }
}
