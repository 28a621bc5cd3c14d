//! `create_admin`: a new admin with a one-time password — by a manager over HTTP, by the
//! command line (`zhijian admin create`, the first admin of a federation), or by the demo
//! seed, the one caller that gives a known password.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use serde_json::{Value, json};
use zhijian_domain::admin::AdminRole;
use zhijian_domain::admin_management::{
    DisplayName, Granter, ManageRefusal, NewPassword, Username, WeakPassword,
};
use zhijian_domain::ids::{AdminId, UnionId};
use zhijian_domain::station::StationId;

use super::{before_after, manager_actor};
use crate::crypto::password::{self, Zxcvbn};
use crate::crypto::pii::PiiCipher;
use crate::crypto::secret::Secret;
use crate::db::StoreError;
use crate::store::admin_accounts::{self, AdminAccount, InsertAccount, USERNAME_CONSTRAINT};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::idempotency::{self, IdempotencyKey, KeyReused};
use crate::usecases::Services;

/// Who creates the admin.
#[derive(Debug, Clone)]
pub enum Creator {
    /// A manager, inside their subtree, never above their rank.
    Manager(Granter),
    /// `zhijian admin create` on the server: the first admin of a federation (no HTTP path
    /// creates an admin without an admin). Audited as the system, `command-line`.
    CommandLine,
    /// The demo seed (`zhijian-dev seed-demo`). Audited as the system, `demo`.
    Demo,
}

impl Creator {
    fn actor(&self) -> Actor {
        match self {
            Self::Manager(granter) => manager_actor(granter),
            Self::CommandLine => Actor {
                id: Some("command-line".to_owned()),
                ..Actor::system()
            },
            Self::Demo => Actor {
                id: Some("demo".to_owned()),
                ..Actor::system()
            },
        }
    }
}

/// The password a new admin starts with.
#[derive(Debug, Clone)]
pub enum InitialPassword {
    /// A generated one-time password, answered once; it must be changed at first sign-in.
    OneTime,
    /// A password the caller knows, checked against the policy, NOT to be changed at first
    /// sign-in: only the demo seed uses it (its accounts share one configured password).
    Given(Secret),
}

/// The admin to create, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdmin {
    /// Login name.
    pub username: Username,
    /// Display name.
    pub display_name: DisplayName,
    /// Role.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union_id: UnionId,
}

/// Why an admin was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    /// The creator may not: not a manager (403), or the union is outside their subtree (404).
    #[error(transparent)]
    Refused(ManageRefusal),
    /// The union does not exist.
    #[error("union not found")]
    UnionNotFound,
    /// The station of new station staff does not exist (for a manager: `Refused`, 404).
    #[error("station not found")]
    StationNotFound,
    /// The station of new station staff is closed.
    #[error("station closed")]
    StationClosed,
    /// Another admin has this username.
    #[error("username is taken")]
    UsernameTaken,
    /// A given password misses the policy.
    #[error(transparent)]
    WeakPassword(WeakPassword),
    /// The idempotency key was used before with another body.
    #[error("idempotency key reused")]
    KeyReused(KeyReused),
    /// Storage (or hashing, or rendering) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A created admin: the rendered view (the API's) and the one-time password, to show once.
#[derive(Debug)]
pub struct AdminCreated {
    /// What `render` made of the admin as written (the first answer's, for a replay).
    pub admin: Value,
    /// The one-time password (`None` for a given password).
    pub one_time_password: Option<Secret>,
    /// Whether this is the answer of an earlier request with the same key.
    pub replayed: bool,
}

/// The view could not be rendered.
pub type RenderError = Box<dyn std::error::Error + Send + Sync>;

/// What an idempotent creation keeps: the rendered admin and the one-time password sealed
/// with the personal-data key (a retry must show the same password; it never rests in clear).
const SEALED_FIELD: &str = "one_time_password_sealed";
const SEAL_CONTEXT: &str = "admin_one_time_password";

/// Creates an admin with a one-time password (see [`create_admin_in`]), answering under `key`
/// the first answer again for a retry; `render` makes the API's view of the admin.
pub async fn create_admin<F>(
    ctx: &Services,
    creator: Creator,
    key: Option<IdempotencyKey>,
    new: NewAdmin,
    render: F,
) -> Result<AdminCreated, CreateAdminError>
where
    F: FnOnce(&AdminAccount) -> Result<Value, RenderError> + Send + 'static,
{
    let make = move |conn: &mut PgConnection, now| {
        create_admin_in(conn, &creator, &new, InitialPassword::OneTime, now)
    };
    create_with(ctx, key, make, render).await
}

/// Station staff to create, parsed: an admin of role `station` bound to `station` and to the
/// union that owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStationStaff {
    /// Login name.
    pub username: Username,
    /// Display name.
    pub display_name: DisplayName,
    /// The station.
    pub station: StationId,
}

/// 新增站点管理员: station staff of an open station of the manager's subtree, with a one-time
/// password (see [`create_station_staff_in`]); idempotent under `key` like [`create_admin`].
pub async fn create_station_staff<F>(
    ctx: &Services,
    creator: Creator,
    key: Option<IdempotencyKey>,
    new: NewStationStaff,
    render: F,
) -> Result<AdminCreated, CreateAdminError>
where
    F: FnOnce(&AdminAccount) -> Result<Value, RenderError> + Send + 'static,
{
    let make = move |conn: &mut PgConnection, now| {
        create_station_staff_in(conn, &creator, &new, InitialPassword::OneTime, now)
    };
    create_with(ctx, key, make, render).await
}

/// The transaction of an idempotent creation: claims `key` (or replays its first answer),
/// runs `make`, renders and stores the answer with the one-time password sealed.
async fn create_with<M, F>(
    ctx: &Services,
    key: Option<IdempotencyKey>,
    make: M,
    render: F,
) -> Result<AdminCreated, CreateAdminError>
where
    M: FnOnce(
            &mut PgConnection,
            DateTime<Utc>,
        ) -> Result<(AdminAccount, Option<Secret>), CreateAdminError>
        + Send
        + 'static,
    F: FnOnce(&AdminAccount) -> Result<Value, RenderError> + Send + 'static,
{
    let now = ctx.now().trunc_subsecs(6);
    let pii = ctx.pii.clone();
    crate::db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            if let Some(key) = &key {
                match idempotency::claim(conn, key)? {
                    Err(reused) => return Err(CreateAdminError::KeyReused(reused)),
                    Ok(Some((_, first))) => return replay(&pii, &first),
                    Ok(None) => {}
                }
            }
            let (account, otp) = make(conn, now)?;
            let admin = render(&account)
                .map_err(|e| StoreError::broken(format!("rendering an admin: {e}")))?;
            if let Some(key) = &key {
                let sealed = otp
                    .as_ref()
                    .map(|p| pii.encrypt(p.expose(), SEAL_CONTEXT))
                    .transpose()
                    .map_err(|e| StoreError::broken(format!("sealing a password: {e}")))?
                    .map(|s| s.to_string());
                let stored = json!({ "admin": admin, SEALED_FIELD: sealed });
                idempotency::store_response(conn, key, 201, &stored)?;
            }
            Ok(AdminCreated {
                admin,
                one_time_password: otp,
                replayed: false,
            })
        })
    })
    .await
}

fn replay(pii: &PiiCipher, first: &Value) -> Result<AdminCreated, CreateAdminError> {
    let one_time_password = first[SEALED_FIELD]
        .as_str()
        .map(|sealed| pii.decrypt(sealed, SEAL_CONTEXT))
        .transpose()
        .map_err(|e| StoreError::broken(format!("opening a stored password: {e}")))?
        .map(Secret::new);
    Ok(AdminCreated {
        admin: first["admin"].clone(),
        one_time_password,
        replayed: true,
    })
}

/// Inside an open transaction: checks the union (it exists; for a manager, it lies in their
/// subtree and the role is not above theirs), sets the password (a generated one-time one, to
/// be changed at first sign-in, or the given one checked against the policy), writes the
/// account and its audit row. A taken username changes nothing. Hashes with argon2: run on
/// the blocking pool. Returns the account and the one-time password.
pub fn create_admin_in(
    conn: &mut PgConnection,
    creator: &Creator,
    new: &NewAdmin,
    initial: InitialPassword,
    now: DateTime<Utc>,
) -> Result<(AdminAccount, Option<Secret>), CreateAdminError> {
    let path = admin_accounts::union_path(conn, new.union_id)?;
    let path = match (creator, path) {
        (Creator::Manager(_), None) => {
            return Err(CreateAdminError::Refused(ManageRefusal::OutsideSubtree));
        }
        (_, None) => return Err(CreateAdminError::UnionNotFound),
        (_, Some(path)) => path,
    };
    if new.role.is_station_staff() {
        // station staff are bound to a station: not made here (by any creator)
        return Err(CreateAdminError::Refused(ManageRefusal::StationStaff));
    }
    if let Creator::Manager(granter) = creator {
        granter
            .may_grant(new.role, &path)
            .map_err(CreateAdminError::Refused)?;
    }
    let account = Account {
        username: &new.username,
        display_name: &new.display_name,
        role: new.role,
        union_id: new.union_id,
        station: None,
    };
    write_account(conn, creator, &account, initial, now)
}

/// Inside an open transaction: checks the station (it exists and is open; for a manager, its
/// union lies in their subtree), then writes station staff bound to it and to its union, like
/// [`create_admin_in`] (password, account, audit row with the station). The one way station
/// staff are created (the API and the demo alike).
pub fn create_station_staff_in(
    conn: &mut PgConnection,
    creator: &Creator,
    new: &NewStationStaff,
    initial: InitialPassword,
    now: DateTime<Utc>,
) -> Result<(AdminAccount, Option<Secret>), CreateAdminError> {
    let found = crate::store::stations::find_with_union(conn, new.station.get())?;
    let (station, union) = match (creator, found) {
        (Creator::Manager(_), None) => {
            return Err(CreateAdminError::Refused(ManageRefusal::OutsideSubtree));
        }
        (_, None) => return Err(CreateAdminError::StationNotFound),
        (_, Some(found)) => found,
    };
    if let Creator::Manager(granter) = creator {
        granter
            .may_staff_station(&union.union_path()?)
            .map_err(CreateAdminError::Refused)?;
    }
    if station.closed_at.is_some() {
        return Err(CreateAdminError::StationClosed);
    }
    let account = Account {
        username: &new.username,
        display_name: &new.display_name,
        role: AdminRole::Station,
        union_id: UnionId::new(union.id),
        station: Some(station.id),
    };
    write_account(conn, creator, &account, initial, now)
}

/// The account [`write_account`] writes.
struct Account<'a> {
    username: &'a Username,
    display_name: &'a DisplayName,
    role: AdminRole,
    union_id: UnionId,
    /// The station of station staff.
    station: Option<i64>,
}

/// Sets the password (a generated one-time one, or the given one checked against the policy)
/// and writes the account and its audit row; a taken username changes nothing.
fn write_account(
    conn: &mut PgConnection,
    creator: &Creator,
    new: &Account<'_>,
    initial: InitialPassword,
    now: DateTime<Utc>,
) -> Result<(AdminAccount, Option<Secret>), CreateAdminError> {
    let (clear, must_change, otp) = match initial {
        InitialPassword::OneTime => {
            let otp = password::generate_one_time_password();
            (otp.clone(), true, Some(Secret::new(otp)))
        }
        InitialPassword::Given(secret) => {
            let inputs = [new.username.as_str(), new.display_name.as_str()];
            NewPassword::parse(secret.expose(), &inputs, &Zxcvbn)
                .map_err(CreateAdminError::WeakPassword)?;
            (secret.expose().to_owned(), false, None)
        }
    };
    let hash = password::hash_password(&clear)
        .map_err(|e| StoreError::broken(format!("hashing a password: {e}")))?;
    let id = AdminId::from_uuid(uuid::Uuid::now_v7());
    conn.transaction(|conn| {
        let inserted = admin_accounts::insert(
            conn,
            &InsertAccount {
                id,
                username: new.username.as_str(),
                display_name: new.display_name.as_str(),
                password_hash: &hash,
                role: new.role,
                union_id: new.union_id,
                station_id: new.station,
                must_change_password: must_change,
                at: now,
            },
        );
        match inserted {
            Err(StoreError::Conflict(c)) if c == USERNAME_CONSTRAINT => {
                return Err(CreateAdminError::UsernameTaken);
            }
            other => other?,
        }
        let account = admin_accounts::find(conn, id, false)?
            .ok_or_else(|| StoreError::broken("a new admin vanished"))?;
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &creator.actor(),
                object_kind: "admin",
                object_id: id.to_string(),
                action: "create",
                reason: Some(match new.station {
                    None => before_after(None, &account),
                    Some(station) => {
                        let mut change: Value = serde_json::from_str(&before_after(None, &account))
                            .map_err(|e| StoreError::broken(format!("an audit reason: {e}")))?;
                        change["after"]["station_id"] = json!(station);
                        change.to_string()
                    }
                }),
            },
        )?;
        log::info!(
            admin_id:% = id,
            union_id = new.union_id.get(),
            role = new.role.as_str();
            "admin created"
        );
        Ok((account, otp))
    })
}
