//! Managing union admins: the password policy, the names an admin is known by, who may manage
//! whom, and what an admin's current standing lets their session reach.
//!
//! Rules (issue 13):
//! - only managers manage admins, and only inside their own subtree: the union a role is
//!   granted in and the union the admin is bound to now must both lie in it (outside: not
//!   found, never "forbidden" with details);
//! - a role granted is never above the granter's own rank;
//! - nobody disables themselves, and the last active manager of a union is neither disabled,
//!   demoted nor moved away;
//! - a new password has at least [`MIN_PASSWORD_CHARS`] characters and is not guessable: a
//!   [`Guessability`] estimate (zxcvbn in `zhijian-infra`) of at least [`MIN_PASSWORD_SCORE`].

use std::fmt;

use crate::admin::{AdminRole, UnionPath};
use crate::error_code::ErrorCode;
use crate::ids::{AdminId, UnionId};

/// Fewest characters of a new password.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most characters of a new password.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Lowest acceptable guessability score (zxcvbn's scale: 0 = trivial … 4 = very unguessable).
pub const MIN_PASSWORD_SCORE: u8 = 3;

/// Port: how hard a password is to guess, on zxcvbn's 0–4 scale, knowing the words an
/// attacker would try first (`user_inputs`: the username, the display name). Implemented in
/// `zhijian-infra` (`crypto::password::Zxcvbn`); pure computation, no I/O.
pub trait Guessability {
    /// The score of `password`: 0 (guessed at once) … 4 (very hard to guess).
    fn score(&self, password: &str, user_inputs: &[&str]) -> u8;
}

/// Why a new password is refused. The messages are shown to the admin choosing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("密码至少需要 {MIN_PASSWORD_CHARS} 个字符")]
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("密码不能超过 {MAX_PASSWORD_CHARS} 个字符")]
    TooLong,
    /// Easy to guess: a common password, a keyboard pattern, a date, the username …
    #[error(
        "密码太容易被猜到（如常见密码、键盘顺序、日期或包含用户名），请换一个更长、更随机的密码"
    )]
    Guessable,
    /// The same as the current password (a one-time password kept).
    #[error("新密码不能与当前密码相同")]
    Unchanged,
}

impl WeakPassword {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::WeakPassword
    }
}

/// A password that meets the policy. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// Checks `candidate` against the policy; `user_inputs` are the words of the account
    /// (username, display name) a password must not lean on.
    pub fn parse(
        candidate: &str,
        user_inputs: &[&str],
        estimator: &dyn Guessability,
    ) -> Result<Self, WeakPassword> {
        let length = candidate.chars().count();
        if length < MIN_PASSWORD_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if length > MAX_PASSWORD_CHARS {
            return Err(WeakPassword::TooLong);
        }
        if estimator.score(candidate, user_inputs) < MIN_PASSWORD_SCORE {
            return Err(WeakPassword::Guessable);
        }
        Ok(Self(candidate.to_owned()))
    }

    /// The clear password, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A login name: 3–64 of `a-z 0-9 _ . -`, folded to lower case and trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// The username is not 3–64 of `a-z 0-9 _ . -`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("用户名应为 3 至 64 位小写字母、数字、下划线、点或连字符")]
pub struct InvalidUsername;

impl InvalidUsername {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidUsername
    }
}

impl Username {
    /// Folds and checks a username as typed.
    pub fn parse(typed: &str) -> Result<Self, InvalidUsername> {
        let folded = typed.trim().to_lowercase();
        let valid = (3..=64).contains(&folded.len())
            && folded.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if valid {
            Ok(Self(folded))
        } else {
            Err(InvalidUsername)
        }
    }

    /// The folded name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name an admin is shown by: 1–64 characters once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

/// The display name is empty, longer than 64 characters, or holds a control character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("显示名称应为 1 至 64 个字符，且不含控制字符")]
pub struct InvalidDisplayName;

impl InvalidDisplayName {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidDisplayName
    }
}

impl DisplayName {
    /// Most characters of a display name.
    pub const MAX_CHARS: usize = 64;

    /// Trims and checks a display name.
    pub fn parse(typed: &str) -> Result<Self, InvalidDisplayName> {
        let trimmed = typed.trim();
        let valid = !trimmed.is_empty()
            && trimmed.chars().count() <= Self::MAX_CHARS
            && !trimmed.chars().any(char::is_control);
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(InvalidDisplayName)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Rank of a role: what it may grant is at most this.
pub const fn rank(role: AdminRole) -> u8 {
    match role {
        AdminRole::Station => 0,
        AdminRole::Viewer => 1,
        AdminRole::Reviewer => 2,
        AdminRole::Manager => 3,
    }
}

/// Why a management action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ManageRefusal {
    /// The caller's role does not manage admins (reviewers, viewers).
    #[error("只有管理员可以管理账号")]
    NotAManager,
    /// The union or the admin lies outside the caller's subtree (answered as not found).
    #[error("请求的内容不存在")]
    OutsideSubtree,
    /// The role granted is above the granter's own.
    #[error("不能授予高于自己的角色")]
    AboveOwnRank,
    /// A manager disabling their own account.
    #[error("不能停用自己的账号")]
    DisablingSelf,
    /// Station staff are bound to a station: that role is neither granted nor taken away here.
    #[error("站点管理员绑定服务站点，不能在此授予，也不能改为其他角色")]
    StationStaff,
    /// The change would leave the union without an active manager.
    #[error("这是该工会最后一名在用的管理员，不能停用、降级或调离；请先为该工会设置另一名管理员")]
    LastActiveManager,
}

impl ManageRefusal {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotAManager | Self::AboveOwnRank => ErrorCode::Forbidden,
            Self::OutsideSubtree => ErrorCode::NotFound,
            Self::DisablingSelf => ErrorCode::CannotDisableSelf,
            Self::LastActiveManager => ErrorCode::LastActiveManager,
            Self::StationStaff => ErrorCode::InvalidAdminRole,
        }
    }
}

/// A manager acting on admins: only [`Granter::authorize`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granter {
    id: AdminId,
    role: AdminRole,
    subtree: UnionPath,
}

impl Granter {
    /// The granter of admin `id` with `role` bound to the union at `subtree`, if the role
    /// manages admins.
    pub fn authorize(
        id: AdminId,
        role: AdminRole,
        subtree: UnionPath,
    ) -> Result<Self, ManageRefusal> {
        if role.can_manage() {
            Ok(Self { id, role, subtree })
        } else {
            Err(ManageRefusal::NotAManager)
        }
    }

    /// The granter's admin id.
    pub fn id(&self) -> AdminId {
        self.id
    }

    /// The granter's role.
    pub fn role(&self) -> AdminRole {
        self.role
    }

    /// The granter's subtree.
    pub fn subtree(&self) -> &UnionPath {
        &self.subtree
    }

    /// May the granter see (and act on) what lies at `path`?
    pub fn reaches(&self, path: &UnionPath) -> Result<(), ManageRefusal> {
        if self.subtree.contains(path) {
            Ok(())
        } else {
            Err(ManageRefusal::OutsideSubtree)
        }
    }

    /// May the granter create staff for a station of the union at `path`? Any manager may,
    /// inside their subtree: station staff rank below every other role.
    pub fn may_staff_station(&self, path: &UnionPath) -> Result<(), ManageRefusal> {
        self.reaches(path)
    }

    /// May the granter grant `role` in the union at `path`?
    pub fn may_grant(&self, role: AdminRole, path: &UnionPath) -> Result<(), ManageRefusal> {
        self.reaches(path)?;
        if role.is_station_staff() {
            return Err(ManageRefusal::StationStaff);
        }
        if rank(role) > rank(self.role) {
            return Err(ManageRefusal::AboveOwnRank);
        }
        Ok(())
    }
}

/// An admin as management sees them before a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedAdmin {
    /// The admin.
    pub id: AdminId,
    /// Their role now.
    pub role: AdminRole,
    /// The union they are bound to now.
    pub union_id: UnionId,
    /// Whether they may sign in (not disabled).
    pub active: bool,
}

/// What a manager does to an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// New role and/or union (`None`: unchanged); the union's path comes with it.
    Update {
        /// The new role.
        role: Option<AdminRole>,
        /// The new union and its path.
        union: Option<(UnionId, UnionPath)>,
    },
    /// Stop the admin signing in and end their sessions.
    Disable,
    /// Let a disabled admin sign in again.
    Enable,
    /// A new one-time password.
    ResetPassword,
}

impl Change {
    /// Whether an active manager of their union stops being one after the change.
    fn removes_a_manager(&self, target: &ManagedAdmin) -> bool {
        if !(target.active && target.role == AdminRole::Manager) {
            return false;
        }
        match self {
            Self::Disable => true,
            Self::Update { role, union } => {
                role.is_some_and(|r| r != AdminRole::Manager)
                    || union.as_ref().is_some_and(|(u, _)| *u != target.union_id)
            }
            Self::Enable | Self::ResetPassword => false,
        }
    }
}

/// Decides whether `granter` may apply `change` to `target`, bound now to the union at
/// `target_path`; `other_active_managers` counts the active managers of the target's current
/// union other than the target (read under lock by the caller).
pub fn decide(
    granter: &Granter,
    target: &ManagedAdmin,
    target_path: &UnionPath,
    change: &Change,
    other_active_managers: u64,
) -> Result<(), ManageRefusal> {
    granter.reaches(target_path)?;
    if let Change::Update { role, union } = change {
        if target.role.is_station_staff() {
            // bound to a station: a new name, nothing else
            if role.is_some_and(|r| r != target.role) || union.is_some() {
                return Err(ManageRefusal::StationStaff);
            }
        } else {
            let role = role.unwrap_or(target.role);
            let path = union.as_ref().map_or(target_path, |(_, path)| path);
            granter.may_grant(role, path)?;
        }
    }
    if matches!(change, Change::Disable) && target.id == granter.id {
        return Err(ManageRefusal::DisablingSelf);
    }
    if change.removes_a_manager(target) && other_active_managers == 0 {
        return Err(ManageRefusal::LastActiveManager);
    }
    Ok(())
}

/// What an admin is right now, read from the store on every request: what their session may
/// reach. (A second factor's enrolment joins here.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminStanding {
    /// The admin.
    pub admin_id: AdminId,
    /// Their role now.
    pub role: AdminRole,
    /// The union they are bound to now.
    pub union_id: UnionId,
    /// That union's path: the subtree they act in.
    pub union_path: UnionPath,
    /// Disabled: no session of theirs works.
    pub disabled: bool,
    /// A one-time password is still in use: only the self routes answer until it is changed.
    pub must_change_password: bool,
    /// A second factor (TOTP) is enrolled and confirmed; mandatory for managers
    /// ([`crate::second_factor::mandatory_for`]).
    pub second_factor_enrolled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores by length only: 12–15 characters score 2, longer 4; "password" anywhere 0.
    struct ByLength;

    impl Guessability for ByLength {
        fn score(&self, password: &str, user_inputs: &[&str]) -> u8 {
            if password.contains("password") || user_inputs.iter().any(|w| password.contains(w)) {
                0
            } else if password.chars().count() < 16 {
                2
            } else {
                4
            }
        }
    }

    fn path(s: &str) -> UnionPath {
        UnionPath::parse(s).unwrap()
    }

    fn id(n: u128) -> AdminId {
        AdminId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn manager_of(p: &str) -> Granter {
        Granter::authorize(id(1), AdminRole::Manager, path(p)).unwrap()
    }

    fn admin(n: u128, role: AdminRole, union: i64) -> ManagedAdmin {
        ManagedAdmin {
            id: id(n),
            role,
            union_id: UnionId::new(union),
            active: true,
        }
    }

    #[test]
    fn station_staff_may_be_renamed_but_not_re_roled_or_moved() {
        let county = manager_of("/1/5/");
        let staff = admin(7, AdminRole::Station, 5);
        let at = path("/1/5/");
        let rename = Change::Update {
            role: None,
            union: None,
        };
        assert_eq!(decide(&county, &staff, &at, &rename, 1), Ok(()));
        let re_role = Change::Update {
            role: Some(AdminRole::Viewer),
            union: None,
        };
        assert_eq!(
            decide(&county, &staff, &at, &re_role, 1),
            Err(ManageRefusal::StationStaff)
        );
        let moved = Change::Update {
            role: None,
            union: Some((UnionId::new(12), path("/1/5/12/"))),
        };
        assert_eq!(
            decide(&county, &staff, &at, &moved, 1),
            Err(ManageRefusal::StationStaff)
        );
        let granted = Change::Update {
            role: Some(AdminRole::Station),
            union: None,
        };
        let viewer = admin(8, AdminRole::Viewer, 5);
        assert_eq!(
            decide(&county, &viewer, &at, &granted, 1),
            Err(ManageRefusal::StationStaff)
        );
    }

    #[test]
    fn a_password_needs_twelve_characters_and_a_score_of_three() {
        assert_eq!(
            NewPassword::parse("Ab1-short", &[], &ByLength),
            Err(WeakPassword::TooShort)
        );
        assert_eq!(
            NewPassword::parse("twelve-chars", &[], &ByLength),
            Err(WeakPassword::Guessable)
        );
        assert_eq!(
            NewPassword::parse("my-password-is-long", &[], &ByLength),
            Err(WeakPassword::Guessable)
        );
        assert_eq!(
            NewPassword::parse("wushan-manager-2026", &["wushan-manager"], &ByLength),
            Err(WeakPassword::Guessable)
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(129), &[], &ByLength),
            Err(WeakPassword::TooLong)
        );
        let ok = NewPassword::parse("sixteen-chars-ok", &[], &ByLength).unwrap();
        assert_eq!(ok.expose(), "sixteen-chars-ok");
        assert!(!format!("{ok:?}").contains("sixteen"));
        assert_eq!(WeakPassword::TooShort.to_string(), "密码至少需要 12 个字符");
        assert_eq!(WeakPassword::Guessable.code(), "weak_password");
    }

    #[test]
    fn usernames_are_folded_and_display_names_trimmed() {
        assert_eq!(
            Username::parse("  Wushan.Reviewer ").unwrap().as_str(),
            "wushan.reviewer"
        );
        for bad in ["ab", "审核员", "has space", &"a".repeat(65), ""] {
            assert_eq!(Username::parse(bad), Err(InvalidUsername), "{bad:?}");
        }
        assert_eq!(
            DisplayName::parse(" 巫山县审核员 ").unwrap().as_str(),
            "巫山县审核员"
        );
        for bad in ["", "   ", "a\u{7}b", &"名".repeat(65)] {
            assert_eq!(DisplayName::parse(bad), Err(InvalidDisplayName), "{bad:?}");
        }
    }

    #[test]
    fn only_managers_manage_and_only_inside_their_subtree() {
        assert_eq!(
            Granter::authorize(id(1), AdminRole::Reviewer, path("/1/5/")),
            Err(ManageRefusal::NotAManager)
        );
        assert_eq!(
            Granter::authorize(id(1), AdminRole::Viewer, path("/1/5/")),
            Err(ManageRefusal::NotAManager)
        );
        let county = manager_of("/1/5/");
        assert_eq!(county.may_grant(AdminRole::Manager, &path("/1/5/")), Ok(()));
        assert_eq!(
            county.may_grant(AdminRole::Reviewer, &path("/1/5/12/")),
            Ok(())
        );
        assert_eq!(
            county.may_grant(AdminRole::Viewer, &path("/1/")),
            Err(ManageRefusal::OutsideSubtree)
        );
        assert_eq!(
            county.may_grant(AdminRole::Viewer, &path("/1/6/")),
            Err(ManageRefusal::OutsideSubtree)
        );
        assert_eq!(ManageRefusal::OutsideSubtree.code(), "not_found");
        assert_eq!(ManageRefusal::NotAManager.code(), "forbidden");
    }

    #[test]
    fn no_role_above_the_granters_own_rank() {
        assert!(rank(AdminRole::Manager) > rank(AdminRole::Reviewer));
        assert!(rank(AdminRole::Reviewer) > rank(AdminRole::Viewer));
        // Only managers grant, and a manager is the highest rank: every role is grantable.
        let county = manager_of("/1/5/");
        for role in [AdminRole::Manager, AdminRole::Reviewer, AdminRole::Viewer] {
            assert_eq!(county.may_grant(role, &path("/1/5/12/")), Ok(()));
        }
        assert_eq!(ManageRefusal::AboveOwnRank.code(), "forbidden");
        assert_eq!(
            county.may_grant(AdminRole::Station, &path("/1/5/12/")),
            Err(ManageRefusal::StationStaff)
        );
        assert_eq!(ManageRefusal::StationStaff.code(), "invalid_admin_role");
    }

    #[test]
    fn an_update_must_keep_the_admin_and_the_new_union_inside_the_subtree() {
        let township = manager_of("/1/5/12/");
        let reviewer = admin(2, AdminRole::Reviewer, 12);
        let into = |u: i64, p: &str| Change::Update {
            role: None,
            union: Some((UnionId::new(u), path(p))),
        };
        assert_eq!(
            decide(
                &township,
                &reviewer,
                &path("/1/5/12/"),
                &into(40, "/1/5/12/40/"),
                0
            ),
            Ok(())
        );
        assert_eq!(
            decide(
                &township,
                &reviewer,
                &path("/1/5/12/"),
                &into(5, "/1/5/"),
                0
            ),
            Err(ManageRefusal::OutsideSubtree)
        );
        assert_eq!(
            decide(
                &township,
                &admin(3, AdminRole::Viewer, 5),
                &path("/1/5/"),
                &Change::Enable,
                0
            ),
            Err(ManageRefusal::OutsideSubtree)
        );
    }

    #[test]
    fn nobody_disables_themselves() {
        let county = manager_of("/1/5/");
        let me = admin(1, AdminRole::Manager, 5);
        assert_eq!(
            decide(&county, &me, &path("/1/5/"), &Change::Disable, 3),
            Err(ManageRefusal::DisablingSelf)
        );
    }

    #[test]
    fn the_last_active_manager_is_neither_disabled_demoted_nor_moved_away() {
        let county = manager_of("/1/5/");
        let last = admin(2, AdminRole::Manager, 12);
        let at = path("/1/5/12/");
        let demote = Change::Update {
            role: Some(AdminRole::Reviewer),
            union: None,
        };
        let away = Change::Update {
            role: None,
            union: Some((UnionId::new(13), path("/1/5/13/"))),
        };
        let same = Change::Update {
            role: Some(AdminRole::Manager),
            union: Some((UnionId::new(12), path("/1/5/12/"))),
        };
        for change in [&Change::Disable, &demote, &away] {
            assert_eq!(
                decide(&county, &last, &at, change, 0),
                Err(ManageRefusal::LastActiveManager),
                "{change:?}"
            );
            assert_eq!(decide(&county, &last, &at, change, 1), Ok(()), "{change:?}");
        }
        assert_eq!(decide(&county, &last, &at, &same, 0), Ok(()));
        assert_eq!(
            decide(&county, &last, &at, &Change::ResetPassword, 0),
            Ok(())
        );
        // A disabled manager is not an active one: nothing to protect.
        let disabled = ManagedAdmin {
            active: false,
            ..last.clone()
        };
        assert_eq!(decide(&county, &disabled, &at, &demote, 0), Ok(()));
        // Demoting oneself as the last manager is refused just the same.
        let me = admin(1, AdminRole::Manager, 5);
        assert_eq!(
            decide(&county, &me, &path("/1/5/"), &demote, 0),
            Err(ManageRefusal::LastActiveManager)
        );
    }
}
