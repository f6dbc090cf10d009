//! The closed vocabularies every service and its data files share. Events carry these as
//! strings (`slrt.intake.v1.Need.category`, `NeedDecision.category`,
//! `ReferralDetails.category`); the desk form, the programme catalogue and the routing table
//! are keyed by the same codes, so each is parsed here, once.

use std::fmt;
use std::str::FromStr;

/// What an applicant asks for. A closed set: it is the intake contract, and a routing rule
/// for a misspelt category would silently never match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NeedCategory {
    HealthInsurance,
    CashAssistance,
    FoodAssistance,
    SchoolAid,
    CivilDocuments,
    HousingRepair,
    JobTraining,
    ElderlyCare,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a need category (one of: {list})", list = NeedCategory::list())]
pub struct UnknownCategory(pub String);

impl NeedCategory {
    pub const ALL: [Self; 8] = [
        Self::HealthInsurance,
        Self::CashAssistance,
        Self::FoodAssistance,
        Self::SchoolAid,
        Self::CivilDocuments,
        Self::HousingRepair,
        Self::JobTraining,
        Self::ElderlyCare,
    ];

    pub fn parse(code: &str) -> Result<Self, UnknownCategory> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == code)
            .ok_or_else(|| UnknownCategory(code.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HealthInsurance => "health_insurance",
            Self::CashAssistance => "cash_assistance",
            Self::FoodAssistance => "food_assistance",
            Self::SchoolAid => "school_aid",
            Self::CivilDocuments => "civil_documents",
            Self::HousingRepair => "housing_repair",
            Self::JobTraining => "job_training",
            Self::ElderlyCare => "elderly_care",
        }
    }

    fn list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl FromStr for NeedCategory {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for NeedCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_parses_back_from_its_code() {
        for category in NeedCategory::ALL {
            assert_eq!(NeedCategory::parse(category.as_str()), Ok(category));
        }
    }

    #[test]
    fn an_unknown_category_names_the_known_ones() {
        let error = NeedCategory::parse("helth_insurance").err();
        assert_eq!(
            error.map(|e| e.to_string()),
            Some(
                "\"helth_insurance\" is not a need category (one of: health_insurance, \
                 cash_assistance, food_assistance, school_aid, civil_documents, \
                 housing_repair, job_training, elderly_care)"
                    .to_owned()
            )
        );
    }
}
