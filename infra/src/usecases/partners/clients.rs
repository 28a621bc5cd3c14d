//! Partner clients: registered by a manager of a root union (or from the command line), the
//! secret shown once and stored as a keyed hash, rotated with an overlap, disabled and enabled.
//! Every change is audited (object kind `partner_client`).
//!
//! Why a keyed hash and not argon2: the secret is 256 random bits, so there is nothing for a
//! slow hash to protect against guessing — its cost would only be paid by the server at every
//! token request. HMAC-SHA256 under the server's blind-index key (never in the database) means
//! a copy of the database alone cannot even check a guess.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::Connection;
use rand::RngCore;
use uuid::Uuid;
use zhijian_domain::admin::{AdminRole, UnionPath};
use zhijian_domain::ids::AdminId;
use zhijian_domain::partner::{
    ClientSecrets, ClientStateError, ClientText, Scopes, SecretOverlap, set_disabled,
};

use crate::crypto::pii::PiiCipher;
use crate::crypto::secret::Secret;
use crate::db::{self, StoreError};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::partners::{self, ClientRow};
use crate::usecases::Services;

/// Who registers and manages partner clients.
#[derive(Debug, Clone)]
pub enum ClientManager {
    /// An admin; only a manager of a root union may.
    Admin {
        /// The admin.
        admin_id: AdminId,
        /// Their role.
        role: AdminRole,
        /// Their union's path.
        union_path: UnionPath,
    },
    /// `zhijian partner …` on the server's command line.
    CommandLine,
}

impl ClientManager {
    fn allowed(&self) -> bool {
        match self {
            ClientManager::Admin {
                role, union_path, ..
            } => *role == AdminRole::Manager && union_path.depth() == 0,
            ClientManager::CommandLine => true,
        }
    }

    fn actor(&self) -> Actor {
        match self {
            ClientManager::Admin {
                admin_id,
                role,
                union_path,
            } => Actor {
                kind: "admin",
                id: Some(admin_id.to_string()),
                role: Some(role.as_str()),
                union_id: Some(union_path.union().get()),
            },
            ClientManager::CommandLine => Actor {
                kind: "system",
                id: Some("command-line".to_owned()),
                role: None,
                union_id: None,
            },
        }
    }
}

/// A new client's registration.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// The partner's name.
    pub name: ClientText,
    /// Who to contact there.
    pub contact: ClientText,
    /// The scopes it may be granted.
    pub scopes: Scopes,
}

/// A client with a secret to show once (creation, rotation).
#[derive(Debug)]
pub struct ClientWithSecret {
    /// The client as stored.
    pub client: ClientRow,
    /// The secret, in clear, never stored.
    pub secret: Secret,
}

/// Why a client operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The admin is not a manager of a root union.
    #[error("only a manager of a root union manages partner clients")]
    NotAllowed,
    /// No such client.
    #[error("partner client not found")]
    NotFound,
    /// The client changed since the version the caller read.
    #[error("stale version")]
    Stale,
    /// Disabling a disabled client, enabling an enabled one.
    #[error(transparent)]
    State(#[from] ClientStateError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(ClientError);

/// A new random secret: `zjs_` and 32 random bytes, base64url.
fn new_secret() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(format!("zjs_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The keyed hash a secret is stored and compared as.
pub fn secret_hash(pii: &PiiCipher, secret: &str) -> String {
    pii.blind_index("partner_client_secret", secret)
}

fn audit_client(
    conn: &mut diesel::PgConnection,
    manager: &ClientManager,
    id: Uuid,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &manager.actor(),
            object_kind: "partner_client",
            object_id: id.to_string(),
            action,
            reason: None,
        },
    )
}

/// Registers a client; its secret is in the answer and nowhere else.
pub async fn create_client(
    ctx: &Services,
    manager: ClientManager,
    new: NewClient,
) -> Result<ClientWithSecret, ClientError> {
    if !manager.allowed() {
        return Err(ClientError::NotAllowed);
    }
    let (pii, now) = (ctx.pii.clone(), ctx.now());
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let secret = new_secret();
            let row = ClientRow {
                id: Uuid::now_v7(),
                name: new.name.as_str().to_owned(),
                contact: new.contact.as_str().to_owned(),
                scopes: new.scopes.names(),
                secret_hash: secret_hash(&pii, secret.expose()),
                previous_secret_hash: None,
                previous_secret_expires_at: None,
                created_at: now,
                updated_at: now,
                disabled_at: None,
                version: 1,
            };
            partners::insert_client(conn, &row)?;
            audit_client(conn, &manager, row.id, "partner_client_create", now)?;
            log::info!(client_id:% = row.id; "partner client registered");
            Ok(ClientWithSecret {
                client: row,
                secret,
            })
        })
    })
    .await
}

/// Every client, newest first.
pub async fn list_clients(
    ctx: &Services,
    manager: ClientManager,
) -> Result<Vec<ClientRow>, ClientError> {
    if !manager.allowed() {
        return Err(ClientError::NotAllowed);
    }
    db::run(&ctx.pool, |conn| Ok(partners::list_clients(conn)?)).await
}

/// One client.
pub async fn get_client(
    ctx: &Services,
    manager: ClientManager,
    id: Uuid,
) -> Result<ClientRow, ClientError> {
    if !manager.allowed() {
        return Err(ClientError::NotAllowed);
    }
    db::run(&ctx.pool, move |conn| {
        partners::find_client(conn, id)?.ok_or(ClientError::NotFound)
    })
    .await
}

/// Runs `change` on client `id` locked at `version` (any version when `None`, for the command
/// line), writes it and audits `action`.
async fn change_client<T, F>(
    ctx: &Services,
    manager: ClientManager,
    id: Uuid,
    version: Option<i32>,
    action: &'static str,
    change: F,
) -> Result<(ClientRow, T), ClientError>
where
    F: FnOnce(&mut ClientRow, DateTime<Utc>) -> Result<T, ClientError> + Send + 'static,
    T: Send + 'static,
{
    if !manager.allowed() {
        return Err(ClientError::NotAllowed);
    }
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let mut row = partners::lock_client(conn, id)?.ok_or(ClientError::NotFound)?;
            if version.is_some_and(|v| v != row.version) {
                return Err(ClientError::Stale);
            }
            let extra = change(&mut row, now)?;
            row.updated_at = now;
            let row = partners::update_client(conn, &row)?;
            audit_client(conn, &manager, id, action, now)?;
            Ok((row, extra))
        })
    })
    .await
}

/// A new secret for client `id`; the previous one stays valid for `overlap`.
pub async fn rotate_secret(
    ctx: &Services,
    manager: ClientManager,
    id: Uuid,
    version: Option<i32>,
    overlap: SecretOverlap,
) -> Result<ClientWithSecret, ClientError> {
    let pii = ctx.pii.clone();
    let (client, secret) = change_client(
        ctx,
        manager,
        id,
        version,
        "partner_client_rotate_secret",
        move |row, now| {
            let secret = new_secret();
            let until = overlap.until(now);
            let old = std::mem::replace(&mut row.secret_hash, secret_hash(&pii, secret.expose()));
            (row.previous_secret_hash, row.previous_secret_expires_at) = if until > now {
                (Some(old), Some(until))
            } else {
                (None, None)
            };
            Ok(secret)
        },
    )
    .await?;
    Ok(ClientWithSecret { client, secret })
}

/// Disables (`disable`) or enables client `id`. A disabled client's tokens are refused at
/// their next use and it gets no new ones.
pub async fn set_client_disabled(
    ctx: &Services,
    manager: ClientManager,
    id: Uuid,
    version: Option<i32>,
    disable: bool,
) -> Result<ClientRow, ClientError> {
    let action = if disable {
        "partner_client_disable"
    } else {
        "partner_client_enable"
    };
    let (row, ()) = change_client(ctx, manager, id, version, action, move |row, now| {
        row.disabled_at = set_disabled(row.disabled_at, disable, now)?;
        Ok(())
    })
    .await?;
    Ok(row)
}

/// Why a token request's client authentication failed (all answered `invalid_client`).
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// Unknown client or wrong secret.
    #[error("client authentication failed")]
    Refused,
    /// The right secret of a disabled client.
    #[error("client disabled")]
    Disabled,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(AuthenticateError);

/// The client `client_id` if `secret` is its current secret (or its previous one within the
/// overlap) and it is enabled ([`AuthenticateError::Disabled`] when it is not).
pub async fn authenticate_client(
    ctx: &Services,
    client_id: &str,
    secret: &str,
) -> Result<ClientRow, AuthenticateError> {
    let Ok(id) = Uuid::parse_str(client_id) else {
        return Err(AuthenticateError::Refused);
    };
    let presented = secret_hash(&ctx.pii, secret);
    let now = ctx.now();
    let row = db::run(&ctx.pool, move |conn| partners::find_client(conn, id))
        .await?
        .ok_or(AuthenticateError::Refused)?;
    let secrets = ClientSecrets {
        current: &row.secret_hash,
        previous: row
            .previous_secret_hash
            .as_deref()
            .zip(row.previous_secret_expires_at),
    };
    if !secrets.accepts(&presented, now) {
        return Err(AuthenticateError::Refused);
    }
    if row.disabled_at.is_some() {
        return Err(AuthenticateError::Disabled);
    }
    Ok(row)
}

/// Client `id` if it exists and is enabled: checked at every use of its tokens.
pub async fn enabled_client(ctx: &Services, id: Uuid) -> Result<Option<ClientRow>, StoreError> {
    db::run(&ctx.pool, move |conn| {
        Ok(partners::find_client(conn, id)?.filter(|c| c.disabled_at.is_none()))
    })
    .await
}
