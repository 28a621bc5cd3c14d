//! `correct_application`: a returned application corrected and sent back to review, with
//! every check of a submission.

use diesel::Connection;
use zhijian_domain::ids::{AccountId, ApplicationId};

use super::detail::{ApplicationDetail, PiiShown};
use super::errors::{CorrectError, FormRefusal};
use super::form::{self, Submission};
use crate::db::StoreError;
use crate::store::applications::{self, Corrected};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::outbox;
use crate::usecases::Services;

/// Corrects the returned application `id` of `account` with `submission` and sends it back
/// for review, routed afresh (the corrected facts may point to another union), with a new
/// deadline. Refused exactly as a submission would be: a person who is a current member, or
/// who has another open application, cannot reach the queue this way either.
pub async fn correct_application(
    ctx: &Services,
    account: AccountId,
    id: ApplicationId,
    submission: Submission,
) -> Result<ApplicationDetail, CorrectError> {
    let now = ctx.now();
    let ctx = ctx.clone();
    crate::db::run(&ctx.pool.clone(), move |conn| {
        let routed = form::check_and_route(conn, &ctx.reference, &submission, now)?
            .map_err(CorrectError::Refused)?;
        let referrer =
            form::resolve_referrer(conn, &ctx.pii, &submission)?.map_err(CorrectError::Refused)?;
        let status = zhijian_domain::application::submit(&routed.decision, routed.due_at).status;
        let corrected = form::build_row(
            &submission,
            &ctx.pii,
            id.as_uuid(),
            account,
            status,
            &routed,
            referrer,
            now,
        )?;
        conn.transaction(|conn| {
            let row =
                applications::find_for_account(conn, id, account)?.ok_or(CorrectError::NotFound)?;
            let transition = row.domain().resubmit().map_err(CorrectError::Resubmit)?;
            let person = form::person_indexes(&ctx.pii, &submission.resident_id);
            if applications::is_current_member(conn, &person)? {
                return Err(CorrectError::Refused(FormRefusal::AlreadyMember));
            }
            if applications::other_open_application(conn, &person, id)? {
                return Err(CorrectError::Refused(FormRefusal::OpenApplicationExists));
            }
            let updated =
                match applications::update_corrected(conn, &row, &transition, &corrected, now)? {
                    Corrected::Updated(updated) => *updated,
                    Corrected::Stale => return Err(CorrectError::Stale),
                    Corrected::OpenApplicationExists => {
                        return Err(CorrectError::Refused(FormRefusal::OpenApplicationExists));
                    }
                };
            record_applicant_step(conn, &updated, &transition, now)?;
            crate::store::counters::shift_pending(
                conn,
                super::review::waiting(&updated),
                super::review::waiting(&row),
                1,
            )?;
            ApplicationDetail::load(conn, &ctx.pii, updated, None, PiiShown::Masked)
                .map_err(CorrectError::from)
        })
    })
    .await
}

/// The timeline event, the audit row and the outbox event of an applicant's step (a correction,
/// a withdrawal).
pub(crate) fn record_applicant_step(
    conn: &mut diesel::pg::PgConnection,
    updated: &applications::ApplicationRow,
    transition: &zhijian_domain::application::Transition,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let event = transition.event;
    applications::insert_event(
        conn,
        &applications::NewEvent {
            application: updated.id,
            event,
            from: Some(transition.from),
            to: transition.to,
            union: updated.union_id,
            actor_kind: "applicant",
            actor_id: Some(updated.account_id),
            reason: None,
            at: now,
        },
    )?;
    let actor = Actor {
        kind: "applicant",
        id: Some(updated.account_id.to_string()),
        role: None,
        union_id: None,
    };
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &actor,
            object_kind: "application",
            object_id: updated.id.to_string(),
            action: event.as_str(),
            reason: None,
        },
    )?;
    outbox::enqueue(
        conn,
        event.into(),
        &updated.id.to_string(),
        &serde_json::json!({
            "application_id": updated.id,
            "account_id": updated.account_id,
            "union_id": updated.union_id,
            "status": updated.status,
        }),
        now,
    )?;
    Ok(())
}
