//! 认领会籍: a worker signed in with a verified phone (SMS sign-in, or a phone bound to a WeChat
//! account) finds the membership an import created for them. The phone of the account, the
//! resident ID and the name must all match the imported member, who must not have been claimed;
//! then the member (and its import application) move to the worker's account in one audited
//! transaction and the placeholder account is removed. Any mismatch links nothing and answers
//! the same `NotFound` (no oracle for which part was wrong); attempts are capped per account.

use zhijian_domain::ids::AccountId;
use zhijian_domain::resident_id::ResidentId;
use zhijian_domain::text::PersonName;

use diesel::prelude::*;

use super::card::Membership;
use super::store_errors;
use crate::db::StoreError;
use crate::db::schema::{accounts, applications, members};
use crate::redis::RedisStore;
use crate::redis::rate_limit::{self, RateLimit, Verdict};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::usecases::Services;

/// Claims per account: five an hour.
pub const CLAIM_CAP: RateLimit = RateLimit {
    limit: 5,
    window_secs: 3600,
};

/// Why nothing was claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// No unclaimed imported member matches this phone, resident ID and name.
    #[error("no membership found")]
    NotFound,
    /// Too many attempts.
    #[error("too many claims")]
    Limited {
        /// Seconds until the next attempt.
        retry_after_secs: u64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(ClaimError);

/// `POST /v1/membership/claim`: links the imported member to `account` (see the module).
pub async fn claim_membership(
    ctx: &Services,
    redis: &RedisStore,
    account: AccountId,
    name: PersonName,
    resident_id: ResidentId,
) -> Result<Membership, ClaimError> {
    let bucket = format!("claim:{}", account.as_uuid());
    match rate_limit::hit(redis, &ctx.pii, &bucket, None, CLAIM_CAP).await {
        Ok(Verdict::Allowed) => {}
        Ok(Verdict::Limited { retry_after_secs }) => {
            return Err(ClaimError::Limited { retry_after_secs });
        }
        // Without Redis the cap cannot be counted: refuse rather than allow guessing.
        Err(_) => return Err(StoreError::unavailable("redis").into()),
    }
    // Every blind-index key: during a rotation the register may still be indexed under the
    // old one.
    let person = ctx.pii.blind_indexes("resident_id", resident_id.expose());
    let now = ctx.now();
    let pii = ctx.pii.clone();
    crate::db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let sealed: Option<String> = accounts::table
                .find(account.as_uuid())
                .select(accounts::phone_cipher)
                .first::<Option<String>>(conn)
                .optional()?
                .flatten();
            let sealed = sealed.ok_or(ClaimError::NotFound)?;
            let clear = pii
                .decrypt(&sealed, "phone")
                .map_err(|e| StoreError::broken(format!("an account's phone: {e}")))?;
            let phone = pii.blind_indexes("phone", &clear);
            let already: i64 = members::table
                .filter(members::account_id.eq(account.as_uuid()))
                .count()
                .get_result(conn)?;
            if already > 0 {
                return Err(ClaimError::NotFound);
            }
            let found: Option<(uuid::Uuid, uuid::Uuid, Option<uuid::Uuid>)> = members::table
                .inner_join(applications::table.on(applications::id.eq(members::application_id)))
                .inner_join(accounts::table.on(members::account_id.eq(accounts::id.nullable())))
                .filter(members::person_index.eq_any(&person))
                .filter(members::name.eq(name.as_str()))
                .filter(applications::phone_index.eq_any(&phone))
                .filter(accounts::imported)
                .select((members::id, members::application_id, members::account_id))
                .for_update()
                .first(conn)
                .optional()?;
            // The join makes the placeholder account present.
            let (member, application, placeholder) = found
                .and_then(|(m, a, p)| Some((m, a, p?)))
                .ok_or(ClaimError::NotFound)?;
            diesel::update(members::table.find(member))
                .set((
                    members::account_id.eq(account.as_uuid()),
                    members::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::update(applications::table.filter(applications::account_id.eq(placeholder)))
                .set(applications::account_id.eq(account.as_uuid()))
                .execute(conn)?;
            diesel::delete(accounts::table.find(placeholder)).execute(conn)?;
            audit::record(
                conn,
                &AuditEntry {
                    at: now,
                    actor: &Actor {
                        kind: "member",
                        id: Some(account.as_uuid().to_string()),
                        role: None,
                        union_id: None,
                    },
                    object_kind: "member",
                    object_id: member.to_string(),
                    action: "claim",
                    reason: Some(format!("导入会员认领（申请 {application}）")),
                },
            )?;
            let (member, union) = crate::store::members::find(conn, member)?
                .ok_or_else(|| StoreError::broken("claimed member vanished"))?;
            Ok(Membership {
                status: member.status,
                member,
                union,
            })
        })
    })
    .await
}
