//! `submit_application`: the real-name form to review, in one statement, with its answer
//! stored under the idempotency key.

use chrono::SubsecRound;
use zhijian_domain::ids::AccountId;

use super::detail::{ApplicationDetail, PiiShown};
use super::errors::{FormRefusal, SubmitError};
use super::form::{self, Submission};
use crate::db::StoreError;
use crate::store::applications::{self, SubmitWrite};
use crate::store::idempotency::{Answer, IdempotencyKey};
use crate::usecases::Services;

/// The answer to a submission: HTTP-shaped because it is what the idempotency key stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Written now; the answer rendered from what was written.
    Fresh(Answer),
    /// A retry with the same key and body: the first answer, unchanged.
    Replay(Answer),
}

impl Submitted {
    /// The status and body to answer with.
    pub fn into_answer(self) -> Answer {
        match self {
            Submitted::Fresh(answer) | Submitted::Replay(answer) => answer,
        }
    }
}

/// The API's view could not be rendered.
pub type RenderError = Box<dyn std::error::Error + Send + Sync>;

/// The status of a fresh submission's answer (201 Created).
const CREATED: u16 = 201;

/// Submits the form of `account`: checks the regions, routes it, encrypts the personal data,
/// and writes the application, its timeline, audit and outbox rows and — under `key` — the
/// answer `render` makes of the application as written (the masked view), all in one
/// statement. A retry with the same key answers the first answer.
pub async fn submit_application<F>(
    ctx: &Services,
    account: AccountId,
    key: Option<IdempotencyKey>,
    submission: Submission,
    render: F,
) -> Result<Submitted, SubmitError>
where
    F: FnOnce(&ApplicationDetail) -> Result<serde_json::Value, RenderError> + Send + 'static,
{
    // Stored to the microsecond: the answer shows the instant as it will be read back.
    let now = ctx.now().trunc_subsecs(6);
    let ctx = ctx.clone();
    crate::db::run(&ctx.pool.clone(), move |conn| {
        let input = SubmitInput {
            account,
            key,
            submission,
            channel: MINI_PROGRAM.to_owned(),
            now,
        };
        Ok(submit_in(conn, &ctx, input, render)?.0)
    })
    .await
}

/// The channel of an application submitted in the mini-program.
const MINI_PROGRAM: &str = "mini_program";

/// What [`submit_in`] writes: whose form, under which key, through which channel, when.
pub(crate) struct SubmitInput {
    /// The applicant.
    pub account: AccountId,
    /// The idempotency key.
    pub key: Option<IdempotencyKey>,
    /// The form.
    pub submission: Submission,
    /// `mini_program`, or `partner:<client id>`.
    pub channel: String,
    /// The instant (to the microsecond).
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The submission on `conn` (inside the caller's transaction, if any): the answer, and the
/// id of the application when it was written now.
pub(crate) fn submit_in<F>(
    conn: &mut diesel::PgConnection,
    ctx: &Services,
    input: SubmitInput,
    render: F,
) -> Result<(Submitted, Option<uuid::Uuid>), SubmitError>
where
    F: FnOnce(&ApplicationDetail) -> Result<serde_json::Value, RenderError>,
{
    let SubmitInput {
        account,
        key,
        submission,
        channel,
        now,
    } = input;
    let routed = form::check_and_route(conn, &ctx.reference, &submission, now)?
        .map_err(SubmitError::Refused)?;
    let referrer =
        form::resolve_referrer(conn, &ctx.pii, &submission)?.map_err(SubmitError::Refused)?;
    let submitted = zhijian_domain::application::submit(&routed.decision, routed.due_at);
    let mut row = form::build_row(
        &submission,
        &ctx.pii,
        uuid::Uuid::now_v7(),
        account,
        submitted.status,
        &routed,
        referrer,
        now,
    )?;
    row.channel = channel;
    // The answer is rendered from what is about to be written, and stored with it.
    let events = applications::submitted_events(&row, submitted.steps());
    let timeline = events
        .iter()
        .map(|event| (event.clone(), routed.union.name.clone()))
        .collect();
    let detail = ApplicationDetail::new(
        row.clone(),
        routed.union,
        timeline,
        None,
        &ctx.pii,
        PiiShown::Masked,
    )?;
    let body =
        render(&detail).map_err(|e| StoreError::broken(format!("rendering a submission: {e}")))?;
    let answer = (CREATED, body);
    let person = form::person_indexes(&ctx.pii, &submission.resident_id);
    match applications::submit(conn, &row, &events, &person, key.as_ref(), &answer)? {
        SubmitWrite::Fresh => {
            log::info!(
                application_id:% = row.id,
                status = row.status.as_str(),
                union_id = row.union_id,
                rule = row.routing_rule.as_str();
                "application submitted"
            );
            Ok((Submitted::Fresh(answer), Some(row.id)))
        }
        SubmitWrite::Replay(first) => Ok((Submitted::Replay(first), None)),
        SubmitWrite::KeyReused(reused) => Err(SubmitError::KeyReused(reused)),
        SubmitWrite::AlreadyMember => Err(SubmitError::Refused(FormRefusal::AlreadyMember)),
        SubmitWrite::OpenApplicationExists => {
            Err(SubmitError::Refused(FormRefusal::OpenApplicationExists))
        }
    }
}
