//! Signing out, and looking up the session an access token names.

use zhijian_domain::ids::AdminId;

use crate::db;
use crate::redis::RedisUnavailable;
use crate::redis::sessions::Session;
use crate::store::admins;
use crate::usecases::auth::AuthContext;

/// The session `id`, if it is still live (every authenticated request asks).
pub async fn live_session(
    ctx: &AuthContext<'_>,
    id: &str,
) -> Result<Option<Session>, RedisUnavailable> {
    ctx.sessions().get(id).await
}

/// Ends a worker's session: its access and refresh tokens stop working at once.
pub async fn logout(ctx: &AuthContext<'_>, session_id: &str) -> Result<(), RedisUnavailable> {
    ctx.sessions().end(session_id).await
}

/// Ends an admin's session and records the sign-out in the audit trail. The session is over
/// first; a missing audit row does not make the logout fail (it is logged).
pub async fn admin_logout(
    ctx: &AuthContext<'_>,
    admin: AdminId,
    session_id: &str,
) -> Result<(), RedisUnavailable> {
    ctx.sessions().end(session_id).await?;
    let now = ctx.services.now();
    let recorded = db::run(&ctx.services.pool, move |conn| {
        admins::record_logout(conn, admin, now)
    })
    .await;
    if let Err(e) = recorded {
        log::warn!("admin {admin} signed out, but the audit row was not written: {e}");
    }
    Ok(())
}
