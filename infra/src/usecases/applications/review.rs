//! The admin's decisions: approve (creating the member), reject, return for correction,
//! forward to another union, assign out of a pool — each one transaction with the timeline
//! event, the coverage counters, the audit row and the outbox event.

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::application::{Application, RejectReason, Transition};
use zhijian_domain::form::FormField;
use zhijian_domain::ids::{ApplicationId, UnionId};
use zhijian_domain::reason::Reason;
use zhijian_domain::target::{Receiving, TargetError, check_target, check_within};

use super::detail::{ApplicationDetail, PiiShown};
use super::errors::DecideError;
use crate::store::applications::{self, AdminActor, ApplicationError, Decision};
use crate::store::audit::{self, AuditEntry};
use crate::store::counters;
use crate::store::outbox;
use crate::store::unions::UnionRow;
use crate::usecases::Services;

/// 通过: approves application `id` seen at `version`, creating the member with its number and
/// first affiliation.
pub async fn approve_application(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    id: ApplicationId,
    version: i32,
) -> Result<ApplicationDetail, DecideError> {
    decide(ctx, admin, show, id, version, Decision::Approve).await
}

/// Most applications one batch approval takes.
pub const BATCH_APPROVE_MAX: usize = 100;

/// 批量通过: approves each of `items` (id and the version the admin saw), each in its own
/// transaction with its own version check, in order: one that changed, was decided by someone
/// else or lies outside the subtree is refused alone, the others are approved all the same.
/// Answers every outcome, in the order of `items`.
pub async fn approve_applications(
    ctx: &Services,
    admin: AdminActor,
    items: Vec<(ApplicationId, i32)>,
) -> Vec<(ApplicationId, Result<ApplicationDetail, DecideError>)> {
    let mut outcomes = Vec::with_capacity(items.len());
    for (id, version) in items {
        let outcome = approve_application(ctx, admin.clone(), PiiShown::Masked, id, version).await;
        outcomes.push((id, outcome));
    }
    outcomes
}

/// 不予通过, with a reason the applicant reads.
pub async fn reject_application(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    id: ApplicationId,
    version: i32,
    reason: RejectReason,
) -> Result<ApplicationDetail, DecideError> {
    decide(ctx, admin, show, id, version, Decision::Reject(reason)).await
}

/// 退回修改: returns the application to the applicant, naming the fields to correct.
pub async fn return_application(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    id: ApplicationId,
    version: i32,
    fields: Vec<FormField>,
    note: Option<Reason>,
) -> Result<ApplicationDetail, DecideError> {
    decide(
        ctx,
        admin,
        show,
        id,
        version,
        Decision::Return { fields, note },
    )
    .await
}

/// 转交 to union `to` (which may lie outside the admin's subtree), with a reason.
pub async fn forward_application(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    id: ApplicationId,
    version: i32,
    to: UnionId,
    reason: Reason,
) -> Result<ApplicationDetail, DecideError> {
    decide(
        ctx,
        admin,
        show,
        id,
        version,
        Decision::Forward { to, reason },
    )
    .await
}

/// 分派: out of the pool to union `to` inside the admin's subtree, with a same-day deadline
/// counted from now under the target's review hours.
pub async fn assign_application(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    id: ApplicationId,
    version: i32,
    to: UnionId,
) -> Result<ApplicationDetail, DecideError> {
    let now = ctx.now();
    let ctx = ctx.clone();
    crate::db::run(&ctx.pool.clone(), move |conn| {
        let target = crate::store::unions::find(conn, to)?
            .ok_or(DecideError::Target(TargetError::Unknown))?;
        let calendar = ctx.reference.calendar(conn)?;
        let due_at = zhijian_domain::deadline::due_at(now, &calendar, &target.review_hours()?);
        let decision = Decision::Assign { to, due_at };
        decide_in(
            conn,
            &ctx,
            &admin,
            show,
            id,
            version,
            &decision,
            Some(target),
            now,
        )
    })
    .await
}

async fn decide(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    id: ApplicationId,
    version: i32,
    decision: Decision,
) -> Result<ApplicationDetail, DecideError> {
    let now = ctx.now();
    let ctx = ctx.clone();
    crate::db::run(&ctx.pool.clone(), move |conn| {
        decide_in(conn, &ctx, &admin, show, id, version, &decision, None, now)
    })
    .await
}

/// Applies `decision` to application `id` if it lies inside the admin's subtree and is still
/// at `version`: one transaction with the timeline event, review counters, audit row, outbox
/// event and — for an approval — the member, its number and first affiliation. `target` is
/// the union of an assignment, already loaded.
#[expect(
    clippy::too_many_arguments,
    reason = "the decision with who, what and when"
)]
fn decide_in(
    conn: &mut PgConnection,
    ctx: &Services,
    admin: &AdminActor,
    show: PiiShown,
    id: ApplicationId,
    version: i32,
    decision: &Decision,
    target: Option<UnionRow>,
    now: DateTime<Utc>,
) -> Result<ApplicationDetail, DecideError> {
    conn.transaction(|conn| {
        let (row, union) = applications::find_with_union(conn, id)?.ok_or(DecideError::NotFound)?;
        if !admin.union_path.contains(&union.union_path()?) {
            return Err(DecideError::NotFound);
        }
        let transition = transition_for(conn, &row.domain(), version, admin, decision, target)?;
        let reason = decision.reason_text();
        let updated = applications::write_transition(conn, &row, &transition, decision, now)?
            .ok_or(DecideError::Stale)?;
        // The rows every decision in the county (and the counters' rows every decision in the
        // slot) needs are taken last: first what is this application's alone.
        let (updated, member) = match decision {
            Decision::Approve => {
                let person = crate::store::members::person_of(&ctx.pii, &updated);
                let member =
                    crate::store::members::create_from_application(conn, &updated, &person, now)
                        .map_err(|e| match e {
                            ApplicationError::AlreadyMember => DecideError::AlreadyMember,
                            ApplicationError::Store(e) => DecideError::Store(e),
                        })?;
                (
                    applications::set_member(conn, updated.id, member.id)?,
                    Some(member),
                )
            }
            _ => (updated, None),
        };
        applications::insert_event(
            conn,
            &applications::NewEvent {
                application: row.id,
                event: transition.event,
                from: Some(transition.from),
                to: transition.to,
                union: transition.union.get(),
                actor_kind: "admin",
                actor_id: Some(admin.admin_id),
                reason: reason.as_deref(),
                at: now,
            },
        )?;
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &admin.audit_actor(),
                object_kind: "application",
                object_id: row.id.to_string(),
                action: decision.action(),
                reason: reason.clone(),
            },
        )?;
        log::info!(
            application_id:% = updated.id,
            status = updated.status.as_str(),
            union_id = updated.union_id,
            version = updated.version;
            "application decided"
        );
        let path = union.union_path()?;
        let shown_union = if updated.union_id == union.id {
            Some(union)
        } else {
            None
        };
        let mut detail =
            ApplicationDetail::load(conn, &ctx.pii, updated.clone(), shown_union, show)?;
        // Shared rows from here to the commit: the counters (one statement, in the
        // connection's slot), the benefits' stock, the county's number (two), the outbox row.
        count_step(conn, &updated, &row, transition.event, now)?;
        let number = match &member {
            Some(member) => {
                // 入会礼遇: one statement over the union and its ancestors. A benefit's stock
                // row is shared by every approval under it: taken as late as the number.
                crate::usecases::stations::benefits::grant_on_approval(conn, member, &path, now)?;
                Some(crate::store::members::issue_number(
                    conn, member, &updated, now,
                )?)
            }
            None => None,
        };
        // The partners the applicant consented to hear of it (approved, rejected, returned).
        let partner_event = match transition.to {
            zhijian_domain::application::ApplicationStatus::Approved => {
                Some("application.approved")
            }
            zhijian_domain::application::ApplicationStatus::Rejected => {
                Some("application.rejected")
            }
            zhijian_domain::application::ApplicationStatus::Returned => {
                Some("application.returned")
            }
            _ => None,
        };
        if let Some(event_type) = partner_event {
            crate::store::partners::emit_for_account(
                conn,
                Some(row.account_id),
                &[zhijian_domain::partner::Purpose::Application],
                event_type,
                &serde_json::json!({
                    "application_id": row.id,
                    "status": transition.to.as_str(),
                    "union_id": transition.union.get(),
                    "membership_number": number,
                }),
                now,
            )?;
        }
        outbox::enqueue(
            conn,
            transition.event.into(),
            &row.id.to_string(),
            &serde_json::json!({
                "application_id": row.id,
                "account_id": row.account_id,
                "union_id": transition.union.get(),
                "status": transition.to.as_str(),
                "reason": reason,
                "membership_number": number,
            }),
            now,
        )?;
        detail.membership_number = number;
        Ok(detail)
    })
}

/// The coverage counters of an admin's or applicant's step (`zhijian_domain::stats`), in one
/// statement: at the application's union and its ancestors, on the step's Beijing day; an
/// approval also adds an active member and, when the application carried a referral, a
/// referral at the referrer's union; the gauge of waiting applications moves from where `row`
/// waited to where `updated` waits.
pub(super) fn count_step(
    conn: &mut PgConnection,
    updated: &applications::ApplicationRow,
    row: &applications::ApplicationRow,
    event: zhijian_domain::application::ApplicationEvent,
    now: DateTime<Utc>,
) -> Result<(), crate::db::StoreError> {
    use zhijian_domain::application::ApplicationEvent;
    let on_time = zhijian_domain::notification::decided_on_time(now, updated.due_at);
    let deltas = zhijian_domain::stats::application_deltas(event, on_time);
    let approved = event == ApplicationEvent::Approved;
    counters::apply_step(
        conn,
        &counters::Step {
            union: updated.union_id,
            occupation: updated.occupation.as_str(),
            day: zhijian_domain::calendar::local_date(now),
            deltas: &deltas,
            active: i32::from(approved),
            referral_of: approved.then_some(updated.id),
            waiting_now: waiting(updated),
            waiting_before: waiting(row),
        },
    )
}

/// Where an application waits for a decision, for the gauge of waiting applications.
pub(super) fn waiting(row: &applications::ApplicationRow) -> counters::Waiting {
    zhijian_domain::stats::counts_as_waiting(row.status).then_some((row.union_id, row.due_at))
}

fn transition_for(
    conn: &mut PgConnection,
    state: &Application,
    expected: i32,
    admin: &AdminActor,
    decision: &Decision,
    target: Option<UnionRow>,
) -> Result<Transition, DecideError> {
    match decision {
        Decision::Approve => state.approve(expected).map_err(DecideError::Approve),
        Decision::Reject(reason) => state.reject(expected, reason).map_err(DecideError::Reject),
        Decision::Return { fields, note } => {
            let names: Vec<String> = fields.iter().map(|f| f.as_str().to_owned()).collect();
            state
                .return_for_correction(expected, &names, note.as_ref())
                .map_err(DecideError::Return)
        }
        Decision::Forward { to, reason } => {
            let target = crate::store::unions::find(conn, *to)?;
            check_union(target.as_ref(), None)?;
            state
                .forward(expected, *to, reason)
                .map_err(DecideError::Forward)
        }
        Decision::Assign { to, .. } => {
            check_union(target.as_ref(), Some(&admin.union_path))?;
            state.assign(expected, *to).map_err(DecideError::Assign)
        }
    }
}

/// A forward or assignment target must exist, accept applications and not be a pool.
/// Forwarding may leave the admin's subtree (to the right union elsewhere); assignment may not.
fn check_union(
    target: Option<&UnionRow>,
    within: Option<&zhijian_domain::admin::UnionPath>,
) -> Result<(), DecideError> {
    let candidate = target.map(UnionRow::candidate).transpose()?;
    check_target(candidate.as_ref(), Receiving::Application).map_err(DecideError::Target)?;
    if let (Some(scope), Some(target)) = (within, target) {
        check_within(scope, &target.union_path()?).map_err(DecideError::Target)?;
    }
    Ok(())
}
