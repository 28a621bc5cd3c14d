//! Routing (分派): which union receives an application, as a pure function of the work facts
//! and the candidate unions ("行业覆盖、区域兜底", 属地管理).
//!
//! Rules, first match wins; a union that is not accepting applications never matches:
//! 1. the enterprise union whose credit code equals the employer's;
//! 2. the industry federation serving the occupation group whose region contains the work
//!    region most narrowly;
//! 3. the joint union whose region contains the work region most narrowly;
//! 4. the pool (临时库) of the work region's county, or else of the nearest region above it.
//!
//! Ties go to the higher priority, then to the lower (older) union id.
//!
//! A union covers its own region, or — a joint union covering a 片区 — the regions listed as
//! its coverage; "most narrowly" is the longest covering region. A union that is not accepting
//! is passed by, and when it would otherwise have been chosen the explanation says so
//! ("…暂停受理，已跳过").

use crate::error_code::ErrorCode;
use std::cmp::Reverse;

use crate::credit_code::CreditCode;
use crate::ids::UnionId;
use crate::occupation::OccupationGroup;
use crate::region::RegionCode;
use crate::vocab::string_enum;

string_enum! {
    /// What kind of union a node of the organisation tree is.
    pub enum UnionKind {
        what = "工会类型",
        code = InvalidUnionKind,
        /// 总工会: the federation of trade unions of a region.
        Federation = "federation" => "总工会",
        /// 企业工会: bound to one employer's credit code.
        Enterprise = "enterprise" => "企业工会",
        /// 行业工会联合会: serves listed occupation groups inside its region.
        IndustryFederation = "industry_federation" => "行业工会联合会",
        /// 联合工会 / 社区工会 / 片区工会: serves every worker in its region.
        Joint = "joint" => "联合工会",
        /// 临时库: a county federation's pool for applications nothing else takes.
        Pool = "pool" => "临时库",
    }
}

string_enum! {
    /// The routing rule that chose a union.
    pub enum RoutingRule {
        what = "分派规则",
        code = InvalidRoutingRule,
        /// Rule 1: the employer's own union.
        EmployerUnion = "employer_union" => "用工单位工会",
        /// Rule 2: an industry federation covering the occupation group.
        IndustryFederation = "industry_federation" => "行业覆盖",
        /// Rule 3: the joint union of the work region.
        JointUnion = "joint_union" => "属地联合工会",
        /// Rule 4: a county pool.
        Pool = "pool" => "区域兜底",
    }
}

impl RoutingRule {
    /// The rule's number, 1–4.
    pub const fn number(self) -> u8 {
        match self {
            Self::EmployerUnion => 1,
            Self::IndustryFederation => 2,
            Self::JointUnion => 3,
            Self::Pool => 4,
        }
    }
}

/// A union routing may choose, as loaded from the organisation tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionCandidate {
    /// The union.
    pub id: UnionId,
    /// Its name, quoted in the explanation.
    pub name: String,
    /// Its kind.
    pub kind: UnionKind,
    /// The region it serves.
    pub region: RegionCode,
    /// The regions it covers instead of `region` (a joint union's 片区); empty: `region`.
    pub coverage: Vec<RegionCode>,
    /// The employer an enterprise union belongs to.
    pub credit_code: Option<CreditCode>,
    /// The groups an industry federation serves (ignored for other kinds).
    pub occupations: Vec<OccupationGroup>,
    /// Whether it currently takes applications.
    pub accepting: bool,
    /// Explicit preference among otherwise equal candidates; higher wins.
    pub priority: i32,
}

impl UnionCandidate {
    /// Whether a union may be given an application by hand (forward, assignment): it accepts
    /// applications and is not a pool — a pool only holds what nothing else could take.
    pub fn takes_applications(&self) -> bool {
        self.accepting && self.kind != UnionKind::Pool
    }

    /// The regions it covers: its coverage, or its own region.
    pub fn covered(&self) -> &[RegionCode] {
        if self.coverage.is_empty() {
            std::slice::from_ref(&self.region)
        } else {
            &self.coverage
        }
    }

    /// How narrowly it covers `region`: the length of its longest covering region; `None`
    /// when it does not cover it.
    pub fn covering(&self, region: &RegionCode) -> Option<usize> {
        self.covered()
            .iter()
            .filter(|c| region.is_within(c))
            .map(|c| c.as_str().len())
            .max()
    }
}

/// The facts of a worker's job that routing looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingFacts {
    /// Where the work happens.
    pub work_region: RegionCode,
    /// The occupation group.
    pub occupation: OccupationGroup,
    /// The employer's credit code, if the worker has one employer and gave it.
    pub employer_credit_code: Option<CreditCode>,
}

/// The union chosen and why; stored with the application and shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoutingDecision {
    /// The chosen union.
    pub union: UnionId,
    /// The rule that chose it.
    pub rule: RoutingRule,
    /// A Chinese sentence naming rule and union, e.g.
    /// "按规则2（行业覆盖）分派至 巫山县快递行业工会联合会（500237）".
    pub explanation: String,
}

impl RoutingDecision {
    /// Whether the application lands in a pool and waits to be assigned.
    pub fn is_pooled(&self) -> bool {
        self.rule == RoutingRule::Pool
    }
}

/// Why no union could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// Not even a pool covers the work region.
    #[error("所在地区暂无可受理入会申请的工会，请联系当地总工会")]
    NoUnion,
}

impl RoutingError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoUnion => ErrorCode::NoUnion,
        }
    }
}

/// Chooses the union for `facts` among `candidates` (see the module documentation).
pub fn route(
    facts: &RoutingFacts,
    candidates: &[UnionCandidate],
) -> Result<RoutingDecision, RoutingError> {
    let of_kind = |kind: UnionKind| candidates.iter().filter(move |c| c.kind == kind);
    let mut skipped = Vec::new();

    if let Some(code) = facts.employer_credit_code.as_ref() {
        let employers = of_kind(UnionKind::Enterprise)
            .filter(|c| c.credit_code.as_ref() == Some(code))
            .map(|c| (c, 0));
        if let Some(union) = first_accepting(employers, &mut skipped) {
            return Ok(decide(RoutingRule::EmployerUnion, union, &skipped));
        }
    }

    let industries = of_kind(UnionKind::IndustryFederation)
        .filter(|c| c.occupations.contains(&facts.occupation))
        .filter_map(|c| c.covering(&facts.work_region).map(|n| (c, n)));
    if let Some(union) = first_accepting(industries, &mut skipped) {
        return Ok(decide(RoutingRule::IndustryFederation, union, &skipped));
    }

    let joints =
        of_kind(UnionKind::Joint).filter_map(|c| c.covering(&facts.work_region).map(|n| (c, n)));
    if let Some(union) = first_accepting(joints, &mut skipped) {
        return Ok(decide(RoutingRule::JointUnion, union, &skipped));
    }

    // Pools belong to county federations: look from the county up, never below it.
    let anchor = facts
        .work_region
        .county()
        .unwrap_or_else(|| facts.work_region.clone());
    let pools = of_kind(UnionKind::Pool)
        .filter(|c| anchor.is_within(&c.region))
        .map(|c| (c, c.region.as_str().len()));
    first_accepting(pools, &mut skipped)
        .map(|union| decide(RoutingRule::Pool, union, &skipped))
        .ok_or(RoutingError::NoUnion)
}

/// The first accepting candidate in preference order — the narrowest covering region, then
/// higher priority, then lower id; the ones not accepting that come before it go to `skipped`.
fn first_accepting<'a>(
    candidates: impl Iterator<Item = (&'a UnionCandidate, usize)>,
    skipped: &mut Vec<&'a UnionCandidate>,
) -> Option<&'a UnionCandidate> {
    let mut ranked: Vec<_> = candidates.collect();
    ranked.sort_by_key(|(c, narrowness)| Reverse((*narrowness, c.priority, Reverse(c.id))));
    for (candidate, _) in ranked {
        if candidate.accepting {
            return Some(candidate);
        }
        skipped.push(candidate);
    }
    None
}

fn decide(
    rule: RoutingRule,
    union: &UnionCandidate,
    skipped: &[&UnionCandidate],
) -> RoutingDecision {
    let mut explanation = format!(
        "按规则{}（{}）分派至 {}（{}）",
        rule.number(),
        rule.label_zh(),
        union.name,
        union.region
    );
    if !skipped.is_empty() {
        let names: Vec<&str> = skipped.iter().map(|c| c.name.as_str()).collect();
        explanation.push_str(&format!("；{}暂停受理，已跳过", names.join("、")));
    }
    RoutingDecision {
        union: union.id,
        rule,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPLOYER: &str = "91350100M000100Y43";

    fn region(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    #[test]
    fn only_an_accepting_union_that_is_not_a_pool_takes_applications_by_hand() {
        assert!(union(1, UnionKind::Joint, "500237001").takes_applications());
        assert!(!union(2, UnionKind::Pool, "500237").takes_applications());
        let mut closed = union(3, UnionKind::Joint, "500237001");
        closed.accepting = false;
        assert!(!closed.takes_applications());
    }

    fn union(id: i64, kind: UnionKind, region_code: &str) -> UnionCandidate {
        UnionCandidate {
            id: UnionId::new(id),
            name: format!("工会{id}"),
            kind,
            region: region(region_code),
            coverage: Vec::new(),
            credit_code: None,
            occupations: Vec::new(),
            accepting: true,
            priority: 0,
        }
    }

    fn enterprise(id: i64, code: &str) -> UnionCandidate {
        UnionCandidate {
            credit_code: Some(CreditCode::parse(code).unwrap()),
            ..union(id, UnionKind::Enterprise, "350100")
        }
    }

    fn industry(id: i64, region_code: &str, groups: &[OccupationGroup]) -> UnionCandidate {
        UnionCandidate {
            occupations: groups.to_vec(),
            ..union(id, UnionKind::IndustryFederation, region_code)
        }
    }

    fn courier_in(work_region: &str) -> RoutingFacts {
        RoutingFacts {
            work_region: region(work_region),
            occupation: OccupationGroup::Courier,
            employer_credit_code: None,
        }
    }

    fn with_employer(facts: RoutingFacts) -> RoutingFacts {
        RoutingFacts {
            employer_credit_code: Some(CreditCode::parse(EMPLOYER).unwrap()),
            ..facts
        }
    }

    fn routed(facts: &RoutingFacts, candidates: &[UnionCandidate]) -> (i64, RoutingRule) {
        let decision = route(facts, candidates).unwrap();
        (decision.union.get(), decision.rule)
    }

    #[test]
    fn rule_one_the_employers_union_wins_over_everything_else() {
        let candidates = [
            union(1, UnionKind::Pool, "500237"),
            union(2, UnionKind::Joint, "500237001"),
            industry(3, "500237", &[OccupationGroup::Courier]),
            enterprise(4, EMPLOYER),
        ];
        let facts = with_employer(courier_in("500237001001"));
        assert_eq!(routed(&facts, &candidates), (4, RoutingRule::EmployerUnion));
    }

    #[test]
    fn an_enterprise_union_of_another_employer_does_not_match() {
        let candidates = [
            enterprise(4, "91110000802100433B"),
            union(1, UnionKind::Pool, "500237"),
        ];
        let facts = with_employer(courier_in("500237001"));
        assert_eq!(routed(&facts, &candidates), (1, RoutingRule::Pool));
    }

    #[test]
    fn rule_two_the_narrowest_industry_federation_serving_the_group_wins() {
        let candidates = [
            industry(10, "50", &[OccupationGroup::Courier]),
            industry(
                11,
                "500237",
                &[OccupationGroup::Courier, OccupationGroup::DeliveryRider],
            ),
            industry(12, "500237001", &[OccupationGroup::DeliveryRider]),
            union(13, UnionKind::Joint, "500237001"),
        ];
        let decision = route(&courier_in("500237001001"), &candidates).unwrap();
        assert_eq!(
            (decision.union.get(), decision.rule),
            (11, RoutingRule::IndustryFederation)
        );
    }

    #[test]
    fn the_explanation_names_the_rule_and_the_union() {
        let federation = UnionCandidate {
            name: "巫山县快递行业工会联合会".to_owned(),
            ..industry(11, "500237", &[OccupationGroup::Courier])
        };
        let decision = route(&courier_in("500237001"), &[federation]).unwrap();
        assert_eq!(
            decision.explanation,
            "按规则2（行业覆盖）分派至 巫山县快递行业工会联合会（500237）"
        );
    }

    #[test]
    fn rule_three_the_narrowest_joint_union_wins_when_no_industry_federation_serves_the_group() {
        let candidates = [
            industry(20, "500237", &[OccupationGroup::DeliveryRider]),
            union(21, UnionKind::Joint, "500237"),
            union(22, UnionKind::Joint, "500237001"),
            union(23, UnionKind::Joint, "500237001001"),
            union(24, UnionKind::Pool, "500237"),
        ];
        assert_eq!(
            routed(&courier_in("500237001002"), &candidates),
            (22, RoutingRule::JointUnion)
        );
        assert_eq!(
            routed(&courier_in("500237001001"), &candidates),
            (23, RoutingRule::JointUnion)
        );
    }

    #[test]
    fn rule_four_the_pool_of_the_work_regions_county_takes_what_nothing_else_does() {
        let candidates = [
            union(30, UnionKind::Pool, "5002"),
            union(31, UnionKind::Pool, "500237"),
        ];
        let decision = route(&courier_in("500237001001"), &candidates).unwrap();
        assert_eq!(
            (decision.union.get(), decision.rule),
            (31, RoutingRule::Pool)
        );
        assert!(decision.is_pooled());
    }

    #[test]
    fn without_a_county_pool_the_nearest_pool_above_is_used() {
        let candidates = [
            union(30, UnionKind::Pool, "50"),
            union(31, UnionKind::Pool, "5002"),
        ];
        assert_eq!(
            routed(&courier_in("500237001"), &candidates),
            (31, RoutingRule::Pool)
        );
    }

    #[test]
    fn a_pool_below_the_county_is_not_used_and_without_any_pool_there_is_no_union() {
        let candidates = [union(30, UnionKind::Pool, "500237001")];
        let error = route(&courier_in("500237001001"), &candidates).unwrap_err();
        assert_eq!(error, RoutingError::NoUnion);
        assert_eq!(error.code(), "no_union");
        assert_eq!(
            route(&courier_in("500237"), &[]),
            Err(RoutingError::NoUnion)
        );
    }

    #[test]
    fn federations_themselves_never_receive_applications() {
        let candidates = [union(40, UnionKind::Federation, "500237")];
        assert_eq!(
            route(&courier_in("500237"), &candidates),
            Err(RoutingError::NoUnion)
        );
    }

    #[test]
    fn a_union_that_is_not_accepting_never_matches() {
        let closed = |u: UnionCandidate| UnionCandidate {
            accepting: false,
            ..u
        };
        let candidates = [
            closed(enterprise(1, EMPLOYER)),
            closed(industry(2, "500237", &[OccupationGroup::Courier])),
            closed(union(3, UnionKind::Joint, "500237001")),
            union(4, UnionKind::Joint, "500237"),
            closed(union(5, UnionKind::Pool, "500237")),
            union(6, UnionKind::Pool, "5002"),
        ];
        let facts = with_employer(courier_in("500237001"));
        assert_eq!(routed(&facts, &candidates), (4, RoutingRule::JointUnion));
        assert_eq!(routed(&facts, &candidates[4..]), (6, RoutingRule::Pool));
    }

    #[test]
    fn a_union_of_a_sibling_region_never_matches() {
        let candidates = [
            industry(50, "500238", &[OccupationGroup::Courier]),
            union(51, UnionKind::Joint, "500237002"),
            union(52, UnionKind::Pool, "500238"),
        ];
        assert_eq!(
            route(&courier_in("500237001"), &candidates),
            Err(RoutingError::NoUnion)
        );
    }

    #[test]
    fn among_equally_narrow_candidates_higher_priority_wins() {
        let candidates = [
            union(60, UnionKind::Joint, "500237001"),
            UnionCandidate {
                priority: 5,
                ..union(61, UnionKind::Joint, "500237001")
            },
            UnionCandidate {
                priority: 9,
                ..union(62, UnionKind::Joint, "500237")
            },
        ];
        assert_eq!(
            routed(&courier_in("500237001001"), &candidates),
            (61, RoutingRule::JointUnion)
        );
    }

    #[test]
    fn among_equal_priorities_the_lower_id_wins() {
        let candidates = [
            union(72, UnionKind::Joint, "500237001"),
            union(71, UnionKind::Joint, "500237001"),
            union(73, UnionKind::Joint, "500237001"),
        ];
        assert_eq!(
            routed(&courier_in("500237001"), &candidates),
            (71, RoutingRule::JointUnion)
        );
        let employers = [enterprise(9, EMPLOYER), enterprise(8, EMPLOYER)];
        assert_eq!(
            routed(&with_employer(courier_in("500237")), &employers),
            (8, RoutingRule::EmployerUnion)
        );
        let ranked = [
            enterprise(8, EMPLOYER),
            UnionCandidate {
                priority: 1,
                ..enterprise(9, EMPLOYER)
            },
        ];
        assert_eq!(
            routed(&with_employer(courier_in("500237")), &ranked),
            (9, RoutingRule::EmployerUnion)
        );
    }

    #[test]
    fn a_joint_union_covering_listed_regions_takes_work_in_any_of_them_most_narrowly() {
        let patch = UnionCandidate {
            coverage: vec![region("500237001009"), region("500237002")],
            ..union(80, UnionKind::Joint, "500237001")
        };
        let township = union(81, UnionKind::Joint, "500237001");
        let candidates = [township, patch];
        assert_eq!(
            routed(&courier_in("500237001009"), &candidates),
            (80, RoutingRule::JointUnion)
        );
        assert_eq!(
            routed(&courier_in("500237002005"), &candidates),
            (80, RoutingRule::JointUnion)
        );
        // Its own region is not covered when a list is given: the township union takes it.
        assert_eq!(
            routed(&courier_in("500237001004"), &candidates),
            (81, RoutingRule::JointUnion)
        );
    }

    #[test]
    fn a_union_not_accepting_that_would_have_been_chosen_is_named_as_skipped() {
        let paused = UnionCandidate {
            name: "净坛社区联合工会".to_owned(),
            accepting: false,
            ..union(90, UnionKind::Joint, "500237001009")
        };
        let township = UnionCandidate {
            name: "高唐街道联合工会".to_owned(),
            ..union(91, UnionKind::Joint, "500237001")
        };
        let decision = route(
            &courier_in("500237001009"),
            &[paused.clone(), township.clone()],
        )
        .unwrap();
        assert_eq!(decision.union.get(), 91);
        assert_eq!(
            decision.explanation,
            "按规则3（属地联合工会）分派至 高唐街道联合工会（500237001）；净坛社区联合工会暂停受理，已跳过"
        );
        // Not in the way (another village): not mentioned.
        let decision = route(&courier_in("500237001004"), &[paused, township]).unwrap();
        assert!(
            !decision.explanation.contains("跳过"),
            "{}",
            decision.explanation
        );
    }

    #[test]
    fn a_decision_serialises_with_snake_case_rule() {
        let decision = route(
            &courier_in("500237"),
            &[union(1, UnionKind::Pool, "500237")],
        )
        .unwrap();
        let json = serde_json::to_value(&decision).unwrap();
        assert_eq!(json["rule"], "pool");
        assert_eq!(json["union"], 1);
        assert_eq!(RoutingRule::Pool.number(), 4);
    }
}
