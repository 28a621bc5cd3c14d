//! Member verification for partners (for member benefits on the platform): by the member's
//! card (the worker shows it, as at a service station) or by name + resident ID of a worker
//! who consented to this partner for `membership_verification`. The answer is member or not,
//! union name, status and member since — nothing else. Every verification is audited (actor
//! `partner`).

use chrono::NaiveDate;
use diesel::Connection;
use diesel::prelude::*;
use uuid::Uuid;
use zhijian_domain::ids::MemberId;
use zhijian_domain::member::MemberStatus;
use zhijian_domain::partner::Purpose;
use zhijian_domain::resident_id::ResidentId;
use zhijian_domain::text::PersonName;

use crate::db::schema::members;
use crate::db::{self, StoreError};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::members::{self as member_store, MemberRow};
use crate::store::partners;
use crate::usecases::Services;
use crate::usecases::applications::form::person_index;

/// What a partner learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Not a current member (or an unknown card).
    NotMember,
    /// A member record (current or not: `status` tells).
    Member {
        /// The member's union.
        union_name: String,
        /// The status.
        status: MemberStatus,
        /// Joined on.
        member_since: NaiveDate,
    },
}

/// Why a verification by identity answered nothing.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// No live consent of such a worker to the partner (as if the worker did not exist).
    #[error("not found")]
    NotFound,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(VerifyError);

fn partner(client: Uuid) -> Actor {
    Actor {
        kind: "partner",
        id: Some(client.to_string()),
        role: None,
        union_id: None,
    }
}

fn answer(
    conn: &mut PgConnection,
    client: Uuid,
    member: Option<MemberRow>,
    how: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Verified, StoreError> {
    let Some(member) = member else {
        return Ok(Verified::NotMember);
    };
    let union_name =
        crate::store::unions::find(conn, zhijian_domain::ids::UnionId::new(member.union_id))?
            .map(|u| u.name)
            .unwrap_or_default();
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &partner(client),
            object_kind: "member",
            object_id: member.id.to_string(),
            action: "partner_verify_member",
            reason: Some(how.to_owned()),
        },
    )?;
    Ok(Verified::Member {
        union_name,
        status: member.status,
        member_since: member.joined_on,
    })
}

/// The holder of a verified card `member`.
pub async fn verify_member_by_card(
    ctx: &Services,
    client: Uuid,
    member: MemberId,
) -> Result<Verified, StoreError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let row = member_store::find(conn, member.as_uuid())?.map(|(m, _)| m);
            answer(conn, client, row, "card", now)
        })
    })
    .await
}

/// The worker with `name` and `resident_id`, if they consented to `client` verifying them.
pub async fn verify_member_by_identity(
    ctx: &Services,
    client: Uuid,
    name: PersonName,
    resident_id: ResidentId,
) -> Result<Verified, VerifyError> {
    let (pii, now) = (ctx.pii.clone(), ctx.now());
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let person = person_index(&pii, &resident_id);
            let accounts = partners::accounts_of_person(conn, &person)?;
            let consenting = partners::live_consents_among(conn, client, &accounts)?
                .into_iter()
                .any(|c| {
                    c.purposes
                        .iter()
                        .any(|p| p == Purpose::MembershipVerification.as_str())
                });
            if !consenting {
                return Err(VerifyError::NotFound);
            }
            let member: Option<MemberRow> = members::table
                .filter(members::person_index.eq(&person))
                .select(MemberRow::as_select())
                .first(conn)
                .optional()?;
            // A name that is not the member's answers like a person who is not a member.
            let member = member.filter(|m| m.name == name.as_str());
            Ok(answer(conn, client, member, "identity", now)?)
        })
    })
    .await
}
