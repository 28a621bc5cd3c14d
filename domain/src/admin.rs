//! Union administrators: what each role may do, and the union subtree they act in.
//!
//! An admin's role is bound to one union and reaches that union's whole subtree. The tree is
//! stored as a materialised path (`/1/5/12/`: root first, the union itself last), so "everything
//! under union X" is a prefix query and "may this admin act on union Y" is
//! [`UnionPath::contains`].

use crate::error_code::ErrorCode;
use std::fmt;
use std::str::FromStr;

use crate::ids::UnionId;
use crate::vocab::string_enum;

string_enum! {
    /// What an admin may do inside their subtree.
    pub enum AdminRole {
        what = "管理员角色",
        code = InvalidAdminRole,
        /// 审核员: decides applications and transfers.
        Reviewer = "reviewer" => "审核员",
        /// 管理员: also manages unions and admins below.
        Manager = "manager" => "管理员",
        /// 查看员: reads queues and statistics only.
        Viewer = "viewer" => "查看员",
        /// 站点管理员: bound to one service station; may only redeem benefits there and read
        /// that station's redemptions.
        Station = "station" => "站点管理员",
    }
}

impl AdminRole {
    /// Approve, reject, return, forward, assign; release, accept and reject transfers.
    pub const fn can_decide(self) -> bool {
        matches!(self, Self::Reviewer | Self::Manager)
    }

    /// Create and edit unions, admins, calendars, targets, stations and benefits.
    pub const fn can_manage(self) -> bool {
        matches!(self, Self::Manager)
    }

    /// See applicants' personal data (name, ID number, phone) in clear.
    pub const fn can_view_personal_data(self) -> bool {
        matches!(self, Self::Reviewer | Self::Manager)
    }

    /// Only station staff: redeem members' benefits at their own station and read its
    /// redemptions — and nothing else of the admin API.
    pub const fn is_station_staff(self) -> bool {
        matches!(self, Self::Station)
    }
}

/// A union path that is not of the form `/1/5/12/`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("工会层级路径格式不正确")]
pub struct UnionPathError;

impl UnionPathError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidUnionPath
    }
}

/// A union's position in the tree: the ids from the root down to the union itself.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnionPath(Vec<UnionId>);

impl UnionPath {
    /// The path of a root union (a province federation).
    pub fn root(id: UnionId) -> Self {
        Self(vec![id])
    }

    /// The path of a new child `id` of this union.
    pub fn child(&self, id: UnionId) -> Result<Self, UnionPathError> {
        if self.0.contains(&id) {
            return Err(UnionPathError);
        }
        let mut ids = self.0.clone();
        ids.push(id);
        Ok(Self(ids))
    }

    /// Builds a path from root-first ids: non-empty, positive, no repeats.
    pub fn from_ids(ids: Vec<UnionId>) -> Result<Self, UnionPathError> {
        let valid = !ids.is_empty()
            && ids.iter().all(|id| id.get() > 0)
            && ids.iter().enumerate().all(|(i, id)| !ids[..i].contains(id));
        if valid {
            Ok(Self(ids))
        } else {
            Err(UnionPathError)
        }
    }

    /// Parses the stored form `/1/5/12/`.
    pub fn parse(s: &str) -> Result<Self, UnionPathError> {
        let inner = s
            .trim()
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
            .ok_or(UnionPathError)?;
        let ids = inner
            .split('/')
            .map(|segment| {
                let digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
                digits
                    .then(|| segment.parse::<i64>().ok())
                    .flatten()
                    .map(UnionId::new)
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(UnionPathError)?;
        Self::from_ids(ids)
    }

    /// The ids from the root down to the union.
    pub fn ids(&self) -> &[UnionId] {
        &self.0
    }

    /// The union this path leads to.
    pub fn union(&self) -> UnionId {
        // A path is never empty.
        self.0.last().copied().unwrap_or(UnionId::new(0))
    }

    /// The parent union's path; `None` for a root.
    pub fn parent(&self) -> Option<UnionPath> {
        (self.0.len() > 1).then(|| Self(self.0[..self.0.len() - 1].to_vec()))
    }

    /// Depth below the root (a root is 0).
    pub fn depth(&self) -> usize {
        self.0.len() - 1
    }

    /// Whether `other` is this union or lies below it (so an admin of this union may act on it).
    pub fn contains(&self, other: &UnionPath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// Where this subtree ends in the byte order of the stored forms: the unions of the subtree
    /// are exactly those whose path `p` has `self.to_string() <= p < self.subtree_end()`, a
    /// range an index on the path can serve. (A stored form ends in `/`; `0`, the byte after
    /// `/`, is the smallest that no path below this one can have there.)
    pub fn subtree_end(&self) -> String {
        let mut end = self.to_string();
        end.pop();
        end.push('0');
        end
    }

    /// Whether the union `id` is on this path (this union or one of its ancestors).
    pub fn passes_through(&self, id: UnionId) -> bool {
        self.0.contains(&id)
    }
}

impl fmt::Display for UnionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("/")?;
        for id in &self.0 {
            write!(f, "{id}/")?;
        }
        Ok(())
    }
}

impl fmt::Debug for UnionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnionPath({self})")
    }
}

impl FromStr for UnionPath {
    type Err = UnionPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for UnionPath {
    type Error = UnionPathError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<UnionPath> for String {
    fn from(path: UnionPath) -> Self {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path(s: &str) -> UnionPath {
        UnionPath::parse(s).unwrap()
    }

    #[test]
    fn reviewers_and_managers_decide_and_only_managers_manage() {
        assert!(AdminRole::Reviewer.can_decide());
        assert!(AdminRole::Manager.can_decide());
        assert!(!AdminRole::Viewer.can_decide());
        assert!(AdminRole::Manager.can_manage());
        assert!(!AdminRole::Reviewer.can_manage());
        assert!(!AdminRole::Viewer.can_manage());
        assert!(AdminRole::Reviewer.can_view_personal_data());
        assert!(!AdminRole::Viewer.can_view_personal_data());
        assert!(!AdminRole::Station.can_decide());
        assert!(!AdminRole::Station.can_manage());
        assert!(!AdminRole::Station.can_view_personal_data());
        assert!(AdminRole::Station.is_station_staff());
        assert!(!AdminRole::Manager.is_station_staff());
    }

    #[test]
    fn a_path_contains_itself_and_its_descendants_only() {
        let county = path("/1/5/");
        assert!(county.contains(&path("/1/5/")));
        assert!(county.contains(&path("/1/5/12/")));
        assert!(county.contains(&path("/1/5/12/40/")));
        assert!(!county.contains(&path("/1/")));
        assert!(!county.contains(&path("/1/6/12/")));
    }

    #[test]
    fn a_numeric_prefix_is_not_a_subtree() {
        // As text, "/1/50/" starts with "/1/5"; as a path it is a sibling.
        assert!(!path("/1/5/").contains(&path("/1/50/")));
    }

    #[test]
    fn a_path_knows_its_union_parent_and_depth() {
        let p = path("/1/5/12/");
        assert_eq!(p.union(), UnionId::new(12));
        assert_eq!(p.parent(), Some(path("/1/5/")));
        assert_eq!(p.depth(), 2);
        assert_eq!(path("/1/").parent(), None);
        assert!(p.passes_through(UnionId::new(5)));
        assert_eq!(p.to_string(), "/1/5/12/");
        assert_eq!(
            UnionPath::root(UnionId::new(1))
                .child(UnionId::new(5))
                .unwrap(),
            path("/1/5/")
        );
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            "", "/", "1/5/", "/1/5", "//", "/1//5/", "/1/a/", "/-1/", "/0/", "/1/5/1/", "/+1/",
        ] {
            assert_eq!(UnionPath::parse(bad), Err(UnionPathError), "{bad:?}");
        }
        assert_eq!(path("/1/5/").child(UnionId::new(1)), Err(UnionPathError));
        assert_eq!(UnionPathError.code(), "invalid_union_path");
    }

    #[test]
    fn a_path_travels_as_its_string() {
        let p: UnionPath = serde_json::from_str("\"/1/5/\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"/1/5/\"");
    }

    proptest! {
        #[test]
        fn any_path_round_trips_and_contains_its_children(
            ids in proptest::collection::hash_set(1i64..1_000_000, 1..8),
            extra in 1_000_000i64..2_000_000,
        ) {
            let p = UnionPath::from_ids(ids.into_iter().map(UnionId::new).collect()).unwrap();
            prop_assert_eq!(UnionPath::parse(&p.to_string()), Ok(p.clone()));
            let child = p.child(UnionId::new(extra)).unwrap();
            prop_assert!(p.contains(&child));
            prop_assert!(!child.contains(&p));
        }

        /// The byte range [path, subtree_end) holds exactly the paths the subtree contains.
        #[test]
        fn the_subtree_range_holds_exactly_the_subtree(
            a in proptest::collection::vec(1i64..200, 1..5),
            b in proptest::collection::vec(1i64..200, 1..5),
            below in any::<bool>(),
        ) {
            // Half the time `other` is drawn below `scope`, so both answers are exercised.
            let b = if below { a.iter().copied().chain(b).collect() } else { b };
            let dedup = |ids: Vec<i64>| {
                let mut seen = Vec::new();
                for id in ids {
                    if !seen.contains(&id) {
                        seen.push(id);
                    }
                }
                UnionPath::from_ids(seen.into_iter().map(UnionId::new).collect()).unwrap()
            };
            let (scope, other) = (dedup(a), dedup(b));
            let stored = other.to_string();
            let in_range = scope.to_string() <= stored && stored < scope.subtree_end();
            prop_assert_eq!(in_range, scope.contains(&other), "{} in {}", other, scope);
        }
    }

    #[test]
    fn a_subtree_ends_before_its_numeric_siblings() {
        assert_eq!(path("/1/5/").subtree_end(), "/1/50");
        assert!("/1/5/12/" < path("/1/5/").subtree_end().as_str());
        assert!("/1/50/" >= path("/1/5/").subtree_end().as_str());
    }
}
