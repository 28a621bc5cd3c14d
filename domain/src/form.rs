//! The fields of the real-name form that an admin may ask the applicant to correct when
//! returning an application (退回修改).

use std::fmt;

use crate::error_code::ErrorCode;

/// A correctable field of the form, named as in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FormField {
    /// 姓名.
    Name,
    /// 身份证号码.
    ResidentId,
    /// 手机号码.
    Phone,
    /// 民族.
    Ethnicity,
    /// 学历.
    Education,
    /// 政治面貌.
    PoliticalStatus,
    /// 户籍类型.
    HouseholdType,
    /// 户籍地.
    HouseholdRegion,
    /// 就业状态.
    EmploymentStatus,
    /// 职业.
    Occupation,
    /// 工作单位或平台.
    EmployerName,
    /// 统一社会信用代码.
    EmployerCreditCode,
    /// 平台.
    Platform,
    /// 工作地点.
    WorkRegion,
    /// 工作地址.
    WorkAddress,
}

/// A name that is no correctable field of the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("表单中没有“{name}”这一项")]
pub struct UnknownFormField {
    /// The name as given (untrimmed).
    pub name: String,
}

impl UnknownFormField {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::UnknownFormField
    }
}

impl FormField {
    /// Every correctable field, in the form's order.
    pub const ALL: &'static [Self] = &[
        Self::Name,
        Self::ResidentId,
        Self::Phone,
        Self::Ethnicity,
        Self::Education,
        Self::PoliticalStatus,
        Self::HouseholdType,
        Self::HouseholdRegion,
        Self::EmploymentStatus,
        Self::Occupation,
        Self::EmployerName,
        Self::EmployerCreditCode,
        Self::Platform,
        Self::WorkRegion,
        Self::WorkAddress,
    ];

    /// The field's name in the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::ResidentId => "resident_id",
            Self::Phone => "phone",
            Self::Ethnicity => "ethnicity",
            Self::Education => "education",
            Self::PoliticalStatus => "political_status",
            Self::HouseholdType => "household_type",
            Self::HouseholdRegion => "household_region",
            Self::EmploymentStatus => "employment_status",
            Self::Occupation => "occupation",
            Self::EmployerName => "employer_name",
            Self::EmployerCreditCode => "employer_credit_code",
            Self::Platform => "platform",
            Self::WorkRegion => "work_region",
            Self::WorkAddress => "work_address",
        }
    }

    /// Parses a field name (surrounding whitespace is ignored).
    pub fn parse(name: &str) -> Result<Self, UnknownFormField> {
        let trimmed = name.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|field| field.as_str() == trimmed)
            .ok_or_else(|| UnknownFormField {
                name: name.to_owned(),
            })
    }

    /// Parses a list of names, refusing at the first unknown one.
    pub fn parse_all<S: AsRef<str>>(names: &[S]) -> Result<Vec<Self>, UnknownFormField> {
        names.iter().map(|n| Self::parse(n.as_ref())).collect()
    }
}

impl fmt::Display for FormField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_parses_back_and_unknown_names_are_refused() {
        for field in FormField::ALL {
            assert_eq!(FormField::parse(field.as_str()), Ok(*field));
        }
        assert_eq!(
            FormField::parse(" work_address "),
            Ok(FormField::WorkAddress)
        );
        let unknown = FormField::parse("shoe_size").unwrap_err();
        assert_eq!(unknown.code(), ErrorCode::UnknownFormField);
        assert_eq!(unknown.to_string(), "表单中没有“shoe_size”这一项");
        assert!(FormField::parse_all(&["name", " "]).is_err());
    }
}
