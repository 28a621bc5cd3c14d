//! What every console page shows around its content (who is signed in, the menu, the sign-out
//! form), and the formatting of times for people (Asia/Shanghai).

use chrono::{DateTime, Utc};
use zhijian_infra::usecases::admins;

use super::Page;
use super::session::Console;
use crate::startup::AppState;

/// The frame of a signed-in page.
pub struct Chrome {
    /// The admin's display name.
    pub name: String,
    /// Their role, in Chinese.
    pub role: &'static str,
    /// Their union's name.
    pub union: String,
    /// The session's form token (the sign-out form).
    pub csrf: String,
    /// The menu entry of this page (`queue`, `pool`, `transfers`, `members`, `figures`,
    /// `audit`).
    pub active: &'static str,
}

impl Chrome {
    /// The frame for `console`'s admin, on menu entry `active`.
    pub async fn of(
        state: &AppState,
        console: &Console,
        active: &'static str,
    ) -> Result<Self, Page> {
        let account = admins::my_account(&state.services, console.admin.admin_id)
            .await
            .map_err(crate::error::ApiError::from)?;
        Ok(Self {
            name: account.display_name,
            role: console.role_label(),
            union: account.union_name,
            csrf: console.csrf().to_owned(),
            active,
        })
    }

    /// `aria-current` of menu entry `entry`.
    pub fn current(&self, entry: &str) -> &'static str {
        if self.active == entry {
            "page"
        } else {
            "false"
        }
    }
}

/// `2026-12-05 14:03` in China time.
pub fn local_time(at: DateTime<Utc>) -> String {
    zhijian_domain::calendar::to_local(at)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The time left until `due` ("剩 3 小时 20 分"), or past it ("超时 1 小时 5 分"); and whether
/// it is past.
pub fn time_left(due: DateTime<Utc>, now: DateTime<Utc>) -> (String, bool) {
    let minutes = (due - now).num_minutes();
    let span = |m: i64| {
        let (d, h, m) = (m / 1440, (m % 1440) / 60, m % 60);
        if d > 0 {
            format!("{d} 天 {h} 小时")
        } else if h > 0 {
            format!("{h} 小时 {m} 分")
        } else {
            format!("{m} 分钟")
        }
    };
    if due <= now {
        (format!("超时 {}", span(-minutes)), true)
    } else {
        (format!("剩 {}", span(minutes)), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_in_words_and_flags_the_overdue() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |m| now + chrono::TimeDelta::minutes(m);
        assert_eq!(time_left(at(200), now), ("剩 3 小时 20 分".into(), false));
        assert_eq!(time_left(at(5), now), ("剩 5 分钟".into(), false));
        assert_eq!(time_left(at(-65), now), ("超时 1 小时 5 分".into(), true));
        assert_eq!(time_left(at(3000), now), ("剩 2 天 2 小时".into(), false));
        assert_eq!(local_time(now), "2026-12-05 14:00");
    }
}
