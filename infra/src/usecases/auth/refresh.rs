//! Spending a refresh token for a new pair (workers and admins alike).

use crate::redis::sessions::RefreshError;
use crate::usecases::auth::{AuthContext, SignedIn};

/// Rotates `refresh_token`: the session and its successor. A spent token revokes the whole
/// sign-in ([`RefreshError::Reused`]), unless it comes back within the reuse grace while its
/// successor is still current: then the answer is the first one again (same refresh token,
/// same `issued_at`, hence the same access token).
pub async fn refresh(ctx: &AuthContext<'_>, refresh_token: &str) -> Result<SignedIn, RefreshError> {
    let rotated = ctx
        .sessions()
        .rotate(refresh_token.trim(), ctx.services.now())
        .await?;
    Ok(rotated.into())
}
