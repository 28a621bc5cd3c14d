//! How a closed or moved union looks in the answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhijian_infra::store::union_changes::{MoveRow, Moved, UnionState};

/// A union after a close or a move.
#[derive(Debug, Serialize)]
pub struct UnionChangeView {
    /// Key.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// The union above (absent for a root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// Materialised path, root first.
    pub path: String,
    /// Whether routing sends applications here.
    pub accepting: bool,
    /// The version to send with the next change.
    pub version: i32,
    /// When it was closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Its successor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor_id: Option<i64>,
    /// What a close moved to the successor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<MovedView>,
    /// How a move went.
    #[serde(rename = "move", skip_serializing_if = "Option::is_none")]
    pub move_record: Option<MoveView>,
}

/// Counts of what moved to the successor.
#[derive(Debug, Serialize)]
pub struct MovedView {
    /// Open applications.
    pub applications: usize,
    /// Live members.
    pub members: usize,
    /// Open transfers redirected.
    pub transfers: usize,
}

/// The record of a move.
#[derive(Debug, Serialize)]
pub struct MoveView {
    /// Key.
    pub id: i64,
    /// `running` or `done`.
    pub status: String,
    /// Batches run.
    pub batches: i32,
    /// Rows re-anchored.
    pub rows_moved: i64,
    /// The longest batch's transaction, in milliseconds.
    pub longest_batch_ms: i32,
}

impl UnionChangeView {
    /// A union, with what a close moved or how a move went.
    pub fn new(union: &UnionState, moved: Option<&Moved>, record: Option<&MoveRow>) -> Self {
        Self {
            id: union.id,
            name: union.name.clone(),
            kind: union.kind.clone(),
            parent_id: union.parent_id,
            path: union.path.clone(),
            accepting: union.accepting,
            version: union.version,
            closed_at: union.closed_at,
            successor_id: union.successor_id,
            moved: moved.map(|m| MovedView {
                applications: m.applications.len(),
                members: m.members.len(),
                transfers: m.transfers.len(),
            }),
            move_record: record.map(|r| MoveView {
                id: r.id,
                status: r.status.clone(),
                batches: r.batches,
                rows_moved: r.rows_moved,
                longest_batch_ms: r.longest_batch_ms,
            }),
        }
    }
}
