//! The request id of the work in progress, so every log line can name the request it serves.
//!
//! Async code runs inside [`scope`]; blocking database work started through
//! [`crate::db::run`] carries the id into its thread. [`current`] reads whichever applies.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

thread_local! {
    static BLOCKING_REQUEST_ID: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// Runs `future` with `request_id` as the current request id.
pub async fn scope<F: Future>(request_id: Arc<str>, future: F) -> F::Output {
    REQUEST_ID.scope(request_id, future).await
}

/// Runs the synchronous `work` with `request_id` as the current request id.
pub fn sync_scope<R>(request_id: Arc<str>, work: impl FnOnce() -> R) -> R {
    REQUEST_ID.sync_scope(request_id, work)
}

/// The request id of the current task or blocking thread, if any.
pub fn current() -> Option<Arc<str>> {
    REQUEST_ID
        .try_with(Arc::clone)
        .ok()
        .or_else(|| BLOCKING_REQUEST_ID.with(|cell| cell.borrow().clone()))
}

/// Marks the current (blocking) thread as working for `request_id` until the guard drops.
pub fn enter_blocking(request_id: Option<Arc<str>>) -> BlockingGuard {
    let previous = BLOCKING_REQUEST_ID.with(|cell| cell.replace(request_id));
    BlockingGuard { previous }
}

/// Restores the previous request id of a blocking thread when dropped.
#[derive(Debug)]
pub struct BlockingGuard {
    previous: Option<Arc<str>>,
}

impl Drop for BlockingGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        BLOCKING_REQUEST_ID.with(|cell| cell.replace(previous));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_id_follows_the_task_and_the_blocking_thread() {
        assert!(current().is_none());
        let id: Arc<str> = Arc::from("req-1");
        let seen = scope(id.clone(), async {
            let outer = current();
            let inner = tokio::task::spawn_blocking(move || {
                let _guard = enter_blocking(outer);
                current()
            })
            .await
            .unwrap();
            (current(), inner)
        })
        .await;
        assert_eq!(seen.0.as_deref(), Some("req-1"));
        assert_eq!(seen.1.as_deref(), Some("req-1"));
        assert!(current().is_none());
    }
}
