//! Standing up and editing a federation's union tree: what a new union of each kind must be,
//! what an edit may change, and who may do it.
//!
//! A union hangs under a federation and serves a region inside its parent's region:
//!
//! - `federation` (总工会) of a province, city, county or township (乡镇/街道总工会, directly
//!   under a county-level federation) — never of a village or community;
//! - `joint` (联合工会, 片区): its own township or village, or a list of townships and villages
//!   (the coverage), each inside the parent's region;
//! - `industry_federation` (行业工会联合会): the listed occupation groups in its region;
//! - `enterprise` (企业工会): one employer, by its 统一社会信用代码;
//! - `pool` (临时库): the county federation's own, of the same county.
//!
//! Which regions exist, whether a credit code or a county's pool is already taken, and whether
//! the caller reaches the parent are facts of the store; the rules here take them as values.

use std::fmt;

use chrono::NaiveTime;

use crate::admin::AdminRole;
use crate::credit_code::CreditCode;
use crate::deadline::{ReviewHours, ReviewHoursError};
use crate::error_code::ErrorCode;
use crate::ids::UnionId;
use crate::occupation::OccupationGroup;
use crate::region::{RegionCode, RegionLevel};
use crate::routing::UnionKind;

/// A union's official name: trimmed, 2–50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnionName(String);

impl UnionName {
    /// Fewest characters.
    pub const MIN_CHARS: usize = 2;
    /// Most characters.
    pub const MAX_CHARS: usize = 50;

    /// Parses a name (surrounding whitespace is ignored).
    pub fn parse(value: &str) -> Result<Self, UnionRuleError> {
        let name = value.trim();
        let count = name.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&count)
            || name.chars().any(char::is_control)
        {
            return Err(UnionRuleError::InvalidName);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UnionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fact of a union that only some kinds have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnionFact {
    /// The list of regions a joint union covers.
    Coverage,
    /// The occupation groups an industry federation serves.
    Occupations,
    /// An enterprise union's credit code.
    CreditCode,
}

impl UnionFact {
    fn label_zh(self) -> &'static str {
        match self {
            Self::Coverage => "覆盖地区",
            Self::Occupations => "职业类别",
            Self::CreditCode => "统一社会信用代码",
        }
    }
}

/// Why a union could not be created or changed as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnionRuleError {
    /// The name is not 2–50 characters without control characters.
    #[error("工会名称应为2至50个字，且不能包含控制字符")]
    InvalidName,
    /// A review time is not `HH:MM`.
    #[error("办公时间应为 HH:MM 格式（如 09:00）")]
    InvalidReviewTime,
    /// The review hours do not hold together.
    #[error(transparent)]
    Hours(#[from] ReviewHoursError),
    /// A federation of a village or community.
    #[error("总工会只能按省、市、县（区）或乡镇（街道）设立，村（社区）一级不能设立总工会")]
    FederationRegionLevel,
    /// A township federation under something other than a county-level federation.
    #[error("乡镇（街道）总工会只能设在县级总工会之下")]
    TownshipFederationParent,
    /// The union's own region is not inside its parent's.
    #[error("工会所在地区必须在上级工会的地区之内")]
    RegionOutsideParent,
    /// A covered region is not inside the parent's region.
    #[error("覆盖地区必须在上级工会的地区之内")]
    CoverageOutsideParent,
    /// A covered region is not a township or a village.
    #[error("联合工会只能覆盖乡镇（街道）或村（社区）一级的地区")]
    CoverageLevel,
    /// A joint union's own region is not a township or a village.
    #[error("联合工会只能设在乡镇（街道）或村（社区）一级的地区")]
    JointRegionLevel,
    /// A pool of another region than its county federation's own.
    #[error("临时库只能设在县级总工会之下，且地区与该总工会相同")]
    PoolRegion,
    /// An industry federation serving no occupation group.
    #[error("行业工会联合会至少要服务一个职业类别")]
    OccupationsRequired,
    /// An enterprise union without its employer's credit code.
    #[error("企业工会必须填写统一社会信用代码")]
    CreditCodeRequired,
    /// A fact given for a kind of union that does not have it.
    #[error("{}不适用于该类型的工会", .0.label_zh())]
    NotApplicable(UnionFact),
    /// The parent is not a federation: only federations have unions below them.
    #[error("上级工会必须是总工会")]
    ParentNotFederation,
}

impl UnionRuleError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidName => ErrorCode::InvalidUnionName,
            Self::InvalidReviewTime => ErrorCode::InvalidReviewTime,
            Self::Hours(e) => e.code(),
            Self::FederationRegionLevel => ErrorCode::FederationRegionLevel,
            Self::TownshipFederationParent => ErrorCode::FederationRegionLevel,
            Self::RegionOutsideParent | Self::CoverageOutsideParent => {
                ErrorCode::CoverageOutsideParent
            }
            Self::CoverageLevel | Self::JointRegionLevel => ErrorCode::CoverageRegionLevel,
            Self::PoolRegion => ErrorCode::PoolRegion,
            Self::OccupationsRequired => ErrorCode::OccupationsRequired,
            Self::CreditCodeRequired => ErrorCode::CreditCodeRequired,
            Self::NotApplicable(_) => ErrorCode::FieldNotApplicable,
            Self::ParentNotFederation => ErrorCode::ParentNotFederation,
        }
    }
}

/// A review time of day, `HH:MM` (24 hours).
pub fn parse_review_time(value: &str) -> Result<NaiveTime, UnionRuleError> {
    let value = value.trim();
    let valid = value.len() == 5 && value.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(value, "%H:%M").ok())
        .flatten()
        .ok_or(UnionRuleError::InvalidReviewTime)
}

/// Review hours from `HH:MM` texts: `opens < cutoff <= closes`, and closing after opening.
pub fn parse_review_hours(
    opens: &str,
    cutoff: &str,
    closes: &str,
) -> Result<ReviewHours, UnionRuleError> {
    let opens = parse_review_time(opens)?;
    let cutoff = parse_review_time(cutoff)?;
    let closes = parse_review_time(closes)?;
    Ok(ReviewHours::new(opens, closes, cutoff)?)
}

/// The parent a new union is created under, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentUnion {
    /// Its id.
    pub id: UnionId,
    /// Its kind.
    pub kind: UnionKind,
    /// Its region.
    pub region: RegionCode,
}

/// A union to create, parsed from the request; [`UnionDraft::check_under`] holds it against
/// its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionDraft {
    /// Official name.
    pub name: UnionName,
    /// Kind.
    pub kind: UnionKind,
    /// The region it is of.
    pub region: RegionCode,
    /// The regions a joint union covers besides (or instead of) its own; empty: its region.
    pub coverage: Vec<RegionCode>,
    /// The occupation groups an industry federation serves.
    pub occupations: Vec<OccupationGroup>,
    /// An enterprise union's employer.
    pub credit_code: Option<CreditCode>,
    /// Review hours; the default when not given.
    pub review_hours: ReviewHours,
}

impl UnionDraft {
    /// Sorts and de-duplicates the lists (coverage, occupations).
    pub fn normalised(mut self) -> Self {
        self.coverage.sort();
        self.coverage.dedup();
        self.occupations.sort_by_key(|o| o.as_str());
        self.occupations.dedup();
        self
    }

    /// Whether this union may be a root of the tree (a province's federation, set up by the
    /// command line): a federation of a province or city, with no facts of other kinds.
    pub fn check_as_root(&self) -> Result<(), UnionRuleError> {
        if self.kind != UnionKind::Federation {
            return Err(UnionRuleError::ParentNotFederation);
        }
        if !matches!(
            self.region.level(),
            RegionLevel::Province | RegionLevel::City
        ) {
            return Err(UnionRuleError::FederationRegionLevel);
        }
        Ok(())
    }

    /// Whether this union may stand under `parent` with these facts (see the module
    /// documentation).
    pub fn check_under(&self, parent: &ParentUnion) -> Result<(), UnionRuleError> {
        if parent.kind != UnionKind::Federation {
            return Err(UnionRuleError::ParentNotFederation);
        }
        if !self.region.is_within(&parent.region) {
            return Err(UnionRuleError::RegionOutsideParent);
        }
        let only = |fact: UnionFact, given: bool, allowed: bool| {
            if given && !allowed {
                Err(UnionRuleError::NotApplicable(fact))
            } else {
                Ok(())
            }
        };
        let kind = self.kind;
        only(
            UnionFact::Coverage,
            !self.coverage.is_empty(),
            kind == UnionKind::Joint,
        )?;
        only(
            UnionFact::Occupations,
            !self.occupations.is_empty(),
            kind == UnionKind::IndustryFederation,
        )?;
        only(
            UnionFact::CreditCode,
            self.credit_code.is_some(),
            kind == UnionKind::Enterprise,
        )?;
        match kind {
            UnionKind::Federation => match self.region.level() {
                RegionLevel::Village => Err(UnionRuleError::FederationRegionLevel),
                RegionLevel::Township if parent.region.level() != RegionLevel::County => {
                    Err(UnionRuleError::TownshipFederationParent)
                }
                _ => Ok(()),
            },
            UnionKind::Joint => {
                if !is_local(&self.region) {
                    return Err(UnionRuleError::JointRegionLevel);
                }
                check_coverage(&self.coverage, &parent.region)
            }
            UnionKind::IndustryFederation if self.occupations.is_empty() => {
                Err(UnionRuleError::OccupationsRequired)
            }
            UnionKind::Enterprise if self.credit_code.is_none() => {
                Err(UnionRuleError::CreditCodeRequired)
            }
            UnionKind::Pool
                if self.region.level() != RegionLevel::County || self.region != parent.region =>
            {
                Err(UnionRuleError::PoolRegion)
            }
            _ => Ok(()),
        }
    }
}

/// A township or a village: what a joint union may be of and cover.
fn is_local(region: &RegionCode) -> bool {
    matches!(region.level(), RegionLevel::Township | RegionLevel::Village)
}

/// Every covered region is a township or village inside `parent`.
fn check_coverage(coverage: &[RegionCode], parent: &RegionCode) -> Result<(), UnionRuleError> {
    for region in coverage {
        if !is_local(region) {
            return Err(UnionRuleError::CoverageLevel);
        }
        if !region.is_within(parent) {
            return Err(UnionRuleError::CoverageOutsideParent);
        }
    }
    Ok(())
}

/// What an edit changes; `None` leaves a fact as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnionEdit {
    /// A new name.
    pub name: Option<UnionName>,
    /// New review hours (for applications routed from now on).
    pub review_hours: Option<ReviewHours>,
    /// A new coverage list (joint unions; empty: its own region).
    pub coverage: Option<Vec<RegionCode>>,
    /// New occupation groups (industry federations).
    pub occupations: Option<Vec<OccupationGroup>>,
    /// Whether it takes applications (停止受理 / 恢复受理).
    pub accepting: Option<bool>,
}

impl UnionEdit {
    /// Sorts and de-duplicates the lists.
    pub fn normalised(mut self) -> Self {
        if let Some(coverage) = &mut self.coverage {
            coverage.sort();
            coverage.dedup();
        }
        if let Some(occupations) = &mut self.occupations {
            occupations.sort_by_key(|o| o.as_str());
            occupations.dedup();
        }
        self
    }

    /// Whether the edit fits a union of `kind` under a parent of region `parent_region`
    /// (`None` for a root, whose coverage is unbounded).
    pub fn check_for(
        &self,
        kind: UnionKind,
        parent_region: Option<&RegionCode>,
    ) -> Result<(), UnionRuleError> {
        if let Some(coverage) = &self.coverage {
            if kind != UnionKind::Joint {
                return Err(UnionRuleError::NotApplicable(UnionFact::Coverage));
            }
            if let Some(parent) = parent_region {
                check_coverage(coverage, parent)?;
            }
        }
        if let Some(occupations) = &self.occupations {
            if kind != UnionKind::IndustryFederation {
                return Err(UnionRuleError::NotApplicable(UnionFact::Occupations));
            }
            if occupations.is_empty() {
                return Err(UnionRuleError::OccupationsRequired);
            }
        }
        Ok(())
    }
}

/// The right to create and edit unions of one's subtree: managers only. Only
/// [`UnionManager::authorize`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnionManager(());

/// The role may not manage unions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("只有管理员可以新建或修改工会")]
pub struct MayNotManageUnions;

impl UnionManager {
    /// The manager's right, if `role` has it.
    pub fn authorize(role: AdminRole) -> Result<Self, MayNotManageUnions> {
        if role.can_manage() {
            Ok(Self(()))
        } else {
            Err(MayNotManageUnions)
        }
    }
}

/// A name search: at least two characters once trimmed, at most fifty, no control characters
/// or `LIKE` wildcards (`%`, `_`, `\`, taken literally by escaping them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameQuery(String);

/// The search text is too short, too long or holds a control character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("按名称搜索至少输入2个字，最多50个字")]
pub struct InvalidNameQuery;

impl NameQuery {
    /// Fewest characters: one character would match most of a province.
    pub const MIN_CHARS: usize = 2;
    /// From this many characters on, the text is searched anywhere in the name (a trigram
    /// lookup); shorter texts match the start of the name only.
    pub const SUBSTRING_CHARS: usize = 3;

    /// Parses a search text.
    pub fn parse(value: &str) -> Result<Self, InvalidNameQuery> {
        let value = value.trim();
        let count = value.chars().count();
        if !(Self::MIN_CHARS..=UnionName::MAX_CHARS).contains(&count)
            || value.chars().any(char::is_control)
        {
            return Err(InvalidNameQuery);
        }
        Ok(Self(value.to_owned()))
    }

    /// Whether the text is searched anywhere in the name (else at its start).
    pub fn is_substring(&self) -> bool {
        self.0.chars().count() >= Self::SUBSTRING_CHARS
    }

    /// The `LIKE` pattern: `%text%` or `text%`, wildcards in the text escaped.
    pub fn like_pattern(&self) -> String {
        let mut escaped = String::with_capacity(self.0.len() + 2);
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        if self.is_substring() {
            format!("%{escaped}%")
        } else {
            format!("{escaped}%")
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    fn county_federation() -> ParentUnion {
        ParentUnion {
            id: UnionId::new(2),
            kind: UnionKind::Federation,
            region: region("500237"),
        }
    }

    fn draft(kind: UnionKind, code: &str) -> UnionDraft {
        UnionDraft {
            name: UnionName::parse("测试工会").unwrap(),
            kind,
            region: region(code),
            coverage: Vec::new(),
            occupations: Vec::new(),
            credit_code: None,
            review_hours: ReviewHours::DEFAULT,
        }
    }

    #[test]
    fn a_name_is_trimmed_and_two_to_fifty_characters_without_control_characters() {
        assert_eq!(
            UnionName::parse("  巫山县总工会 ").unwrap().as_str(),
            "巫山县总工会"
        );
        assert!(UnionName::parse("工会").is_ok());
        assert!(UnionName::parse(&"工".repeat(50)).is_ok());
        for bad in ["", " 工 ", "工会\n总", &"工".repeat(51)] {
            assert_eq!(
                UnionName::parse(bad),
                Err(UnionRuleError::InvalidName),
                "{bad:?}"
            );
        }
        assert_eq!(UnionRuleError::InvalidName.code(), "invalid_union_name");
    }

    #[test]
    fn review_hours_are_hh_mm_and_end_after_they_start() {
        let hours = parse_review_hours("08:30", "15:00", "17:30").unwrap();
        assert_eq!(hours.opens(), NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        for bad in ["8:30", "24:00", "08:60", "0830", "08:30:00", ""] {
            assert_eq!(
                parse_review_hours(bad, "15:00", "17:30"),
                Err(UnionRuleError::InvalidReviewTime),
                "{bad:?}"
            );
        }
        let backwards = parse_review_hours("18:00", "16:00", "09:00").unwrap_err();
        assert_eq!(backwards.code(), "review_hours_end_before_start");
        assert_eq!(
            parse_review_hours("09:00", "18:30", "18:00")
                .unwrap_err()
                .code(),
            "review_cutoff_after_closing"
        );
    }

    #[test]
    fn a_federation_is_of_a_province_city_county_or_township_never_a_village() {
        let root = ParentUnion {
            id: UnionId::new(1),
            kind: UnionKind::Federation,
            region: region("50"),
        };
        assert!(
            draft(UnionKind::Federation, "5002")
                .check_under(&root)
                .is_ok()
        );
        assert!(
            draft(UnionKind::Federation, "500237")
                .check_under(&root)
                .is_ok()
        );
        assert_eq!(
            draft(UnionKind::Federation, "500237001").check_under(&root),
            Err(UnionRuleError::TownshipFederationParent)
        );
        let county = county_federation();
        assert!(
            draft(UnionKind::Federation, "500237001")
                .check_under(&county)
                .is_ok()
        );
        let village = draft(UnionKind::Federation, "500237001009").check_under(&county);
        assert_eq!(village, Err(UnionRuleError::FederationRegionLevel));
        assert_eq!(village.unwrap_err().code(), "federation_region_level");
    }

    #[test]
    fn a_union_lies_inside_its_parents_region_and_under_a_federation() {
        let county = county_federation();
        assert_eq!(
            draft(UnionKind::Joint, "500238001").check_under(&county),
            Err(UnionRuleError::RegionOutsideParent)
        );
        let joint = ParentUnion {
            kind: UnionKind::Joint,
            ..county.clone()
        };
        assert_eq!(
            draft(UnionKind::Joint, "500237001").check_under(&joint),
            Err(UnionRuleError::ParentNotFederation)
        );
    }

    #[test]
    fn a_joint_union_covers_townships_and_villages_inside_the_parents_region() {
        let county = county_federation();
        let mut joint = draft(UnionKind::Joint, "500237001");
        joint.coverage = vec![region("500237001009"), region("500237002")];
        assert!(joint.check_under(&county).is_ok());
        joint.coverage.push(region("500238001"));
        let outside = joint.check_under(&county).unwrap_err();
        assert_eq!(outside, UnionRuleError::CoverageOutsideParent);
        assert_eq!(outside.code(), "coverage_outside_parent");
        joint.coverage = vec![region("500237")];
        assert_eq!(
            joint.check_under(&county),
            Err(UnionRuleError::CoverageLevel)
        );
        assert_eq!(
            draft(UnionKind::Joint, "500237").check_under(&county),
            Err(UnionRuleError::JointRegionLevel)
        );
    }

    #[test]
    fn each_kind_has_its_own_facts_and_only_those() {
        let county = county_federation();
        assert_eq!(
            draft(UnionKind::IndustryFederation, "500237").check_under(&county),
            Err(UnionRuleError::OccupationsRequired)
        );
        let mut industry = draft(UnionKind::IndustryFederation, "500237");
        industry.occupations = vec![OccupationGroup::Courier];
        assert!(industry.check_under(&county).is_ok());
        assert_eq!(
            draft(UnionKind::Enterprise, "500237001").check_under(&county),
            Err(UnionRuleError::CreditCodeRequired)
        );
        let mut enterprise = draft(UnionKind::Enterprise, "500237001");
        enterprise.credit_code = Some(CreditCode::parse("91500237MA60DEM01F").unwrap());
        assert!(enterprise.check_under(&county).is_ok());
        let mut federation = draft(UnionKind::Federation, "500237001");
        federation.occupations = vec![OccupationGroup::Courier];
        assert_eq!(
            federation.check_under(&county),
            Err(UnionRuleError::NotApplicable(UnionFact::Occupations))
        );
        assert_eq!(
            UnionRuleError::NotApplicable(UnionFact::CreditCode).to_string(),
            "统一社会信用代码不适用于该类型的工会"
        );
    }

    #[test]
    fn a_pool_is_its_county_federations_own() {
        let county = county_federation();
        assert!(
            draft(UnionKind::Pool, "500237")
                .check_under(&county)
                .is_ok()
        );
        assert_eq!(
            draft(UnionKind::Pool, "500237001").check_under(&county),
            Err(UnionRuleError::PoolRegion)
        );
    }

    #[test]
    fn an_edit_changes_only_facts_the_kind_has() {
        let edit = UnionEdit {
            coverage: Some(vec![region("500237001009")]),
            ..UnionEdit::default()
        };
        let county = region("500237");
        assert!(edit.check_for(UnionKind::Joint, Some(&county)).is_ok());
        assert_eq!(
            edit.check_for(UnionKind::Federation, Some(&county)),
            Err(UnionRuleError::NotApplicable(UnionFact::Coverage))
        );
        assert_eq!(
            edit.check_for(UnionKind::Joint, Some(&region("500238"))),
            Err(UnionRuleError::CoverageOutsideParent)
        );
        let none = UnionEdit {
            occupations: Some(Vec::new()),
            ..UnionEdit::default()
        };
        assert_eq!(
            none.check_for(UnionKind::IndustryFederation, Some(&county)),
            Err(UnionRuleError::OccupationsRequired)
        );
    }

    #[test]
    fn only_managers_manage_unions() {
        assert!(UnionManager::authorize(AdminRole::Manager).is_ok());
        assert!(UnionManager::authorize(AdminRole::Reviewer).is_err());
        assert!(UnionManager::authorize(AdminRole::Viewer).is_err());
    }

    #[test]
    fn a_name_search_is_a_prefix_below_three_characters_and_a_substring_from_three() {
        assert_eq!(NameQuery::parse("巫山").unwrap().like_pattern(), "巫山%");
        assert_eq!(
            NameQuery::parse(" 快递行业 ").unwrap().like_pattern(),
            "%快递行业%"
        );
        assert_eq!(NameQuery::parse("a%_").unwrap().like_pattern(), "%a\\%\\_%");
        assert!(NameQuery::parse("巫").is_err());
        assert!(NameQuery::parse("巫\u{7}").is_err());
    }
}
