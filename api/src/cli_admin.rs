//! `zhijian admin create`: the first admin of a federation, from the server's command line
//! (no HTTP path creates an admin without an admin). Calls the same use case as
//! `POST /v1/admin/admins` (audited as the system, `command-line`) and prints the one-time
//! password once; it must be changed at first sign-in.

use std::sync::Arc;

use zhijian_domain::admin::AdminRole;
use zhijian_domain::admin_management::{DisplayName, ManageRefusal, Username};
use zhijian_domain::ids::UnionId;
use zhijian_infra::usecases::admins::{self, CreateAdminError, Creator, NewAdmin};
use zhijian_infra::usecases::{Services, SystemClock};

use crate::settings::Settings;

/// Usage of `zhijian admin`.
pub const USAGE: &str = "usage: zhijian admin create --union ID --role manager|reviewer|viewer --username U [--display-name NAME]";

/// Runs `zhijian admin ARGS…`; the message of an `Err` is for the operator.
pub fn run(settings: &Settings, args: &[String]) -> Result<(), String> {
    let new = parse(args)?;
    let pii = settings.pii_cipher()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let services = Services {
            pool: zhijian_infra::db::build_pool(&settings.database),
            pii: Arc::new(pii),
            reference: Arc::new(zhijian_infra::store::reference_cache::ReferenceCache::new(
                std::time::Duration::from_secs(60),
            )),
            clock: Arc::new(SystemClock),
        };
        let (username, union_id, role) = (new.username.clone(), new.union_id, new.role);
        let render = |_: &_| Ok(serde_json::Value::Null);
        let created = admins::create_admin(&services, Creator::CommandLine, None, new, render)
            .await
            .map_err(|e| explain(e, &username, union_id))?;
        let password = created
            .one_time_password
            .ok_or("no one-time password was generated")?;
        println!(
            "admin {username} created: {} of union {union_id}",
            role.as_str()
        );
        println!(
            "one-time password (shown once; to be changed at first sign-in): {}",
            password.expose()
        );
        Ok(())
    })
}

fn explain(error: CreateAdminError, username: &Username, union: UnionId) -> String {
    match error {
        CreateAdminError::Refused(refusal @ ManageRefusal::StationStaff) => {
            format!("cannot create the admin: {refusal}")
        }
        CreateAdminError::UnionNotFound | CreateAdminError::Refused(_) => {
            format!("union {union} does not exist")
        }
        CreateAdminError::UsernameTaken => format!("username {username} is taken"),
        other => format!("cannot create the admin: {other}"),
    }
}

fn parse(args: &[String]) -> Result<NewAdmin, String> {
    let Some((command, flags)) = args.split_first() else {
        return Err(USAGE.to_owned());
    };
    if command != "create" {
        return Err(format!("unknown admin command {command:?}\n\n{USAGE}"));
    }
    let (mut union, mut role, mut username, mut display_name) = (None, None, None, None);
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let value = flags
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        let slot = match flag.as_str() {
            "--union" => &mut union,
            "--role" => &mut role,
            "--username" => &mut username,
            "--display-name" => &mut display_name,
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        };
        *slot = Some(value.clone());
    }
    let missing = |name: &str| format!("{name} is required\n\n{USAGE}");
    let union = union.ok_or_else(|| missing("--union"))?;
    let union = union
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("--union must be a union id (a positive number), not {union:?}"))?;
    let role = role.ok_or_else(|| missing("--role"))?;
    let role = AdminRole::parse(&role)
        .map_err(|_| format!("--role must be manager, reviewer or viewer, not {role:?}"))?;
    let typed = username.ok_or_else(|| missing("--username"))?;
    let username = Username::parse(&typed).map_err(|_| {
        format!("--username {typed:?} is malformed: 3-64 of a-z, 0-9, `_`, `.` or `-`")
    })?;
    let display_name = display_name.unwrap_or_else(|| username.as_str().to_owned());
    let display_name = DisplayName::parse(&display_name).map_err(|_| {
        "--display-name must be 1-64 characters without control characters".to_owned()
    })?;
    Ok(NewAdmin {
        username,
        display_name,
        role,
        union_id: UnionId::new(union),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_options_are_parsed_and_checked() {
        let new = parse(&args(
            "create --union 7 --role manager --username County.Admin",
        ))
        .unwrap();
        assert_eq!(new.username.as_str(), "county.admin");
        assert_eq!(new.display_name.as_str(), "county.admin");
        assert_eq!(
            (new.role, new.union_id),
            (AdminRole::Manager, UnionId::new(7))
        );
        for bad in [
            "",
            "delete --union 7",
            "create --role manager --username abc",
            "create --union x --role manager --username abc",
            "create --union 7 --role boss --username abc",
            "create --union 7 --role manager --username a",
            "create --union 7 --role manager --username abc --colour red",
            "create --union 7 --role",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
