//! The database deadline: once the server has read a request whole, it owes an answer within
//! `database.statement_timeout_secs`; a request still waiting then is answered 503
//! `database_unavailable` and its work abandoned.
//!
//! Handlers wait on nothing but the database (and short, bounded CPU work), so a request that
//! has its whole body and still has no answer is waiting on a database that stopped answering:
//! connections open, nothing flowing, as when a network path or a failing-over primary swallows
//! packets. Without the deadline such requests ended as 408s after the much longer request
//! timeout, which tells clients the wrong thing. Counting from the end of the body keeps a slow
//! upload on a weak phone signal out of it: that is the request timeout's business.
//!
//! Abandoning the request drops its transaction, which rolls back (nothing half-written); on
//! PostgreSQL the server's own `statement_timeout` (set per connection to the same value,
//! `whistle_persistence::db`) stops the statement there too.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

use crate::error::ApiError;

/// A request body that says when it has been read to the end (or dropped unread).
struct Watched {
    inner: Body,
    finished: Option<oneshot::Sender<()>>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if (matches!(polled, Poll::Ready(None | Some(Err(_)))) || this.inner.is_end_stream())
            && let Some(tx) = this.finished.take()
        {
            let _ = tx.send(());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware (`State` is the deadline): see the module documentation.
pub async fn database_deadline(
    State(deadline): State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    let (tx, finished) = oneshot::channel::<()>();
    let read_already = req.body().is_end_stream();
    let req = req.map(|inner| {
        Body::new(Watched {
            inner,
            finished: Some(tx),
        })
    });
    let expired = async move {
        if !read_already {
            // A sender dropped unsent means the handler let go of the body: also the end of it.
            let _ = finished.await;
        }
        tokio::time::sleep(deadline).await;
    };
    tokio::select! {
        res = next.run(req) => res,
        () = expired => {
            tracing::warn!(deadline_secs = deadline.as_secs(), "request abandoned: no answer from the database in time");
            ApiError::DatabaseUnavailable(format!(
                "no answer within the database deadline of {} s",
                deadline.as_secs()
            ))
            .into_response()
        }
    }
}
