//! Running futures side by side within one task.

use futures::{
    StreamExt,
    stream::{Collect, FuturesOrdered},
};
use std::future::Future;

/// Runs `futures` concurrently and gives their outputs in their order.
///
/// `futures::future::join_all` polls every one of up to 30 futures whenever any of them
/// is woken; a dispatcher batch joins fan-outs that join deliveries that each wait on an
/// AWS call, so every wake-up (a response, a timer) re-polled the whole batch. Here each
/// future has a waker of its own and only the woken one is polled.
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    futures.into_iter().collect::<FuturesOrdered<_>>().collect()
}

/// The future of [`join_all`]. A named type rather than `impl Future`, which would
/// carry the iterator's type (and its closures') into every caller's `Send` check.
pub type JoinAll<F> = Collect<FuturesOrdered<F>, Vec<<F as Future>::Output>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `future`, counting in `polls` each time it is polled.
    async fn counted<F: Future>(future: F, polls: &AtomicUsize) -> F::Output {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| {
            polls.fetch_add(1, Ordering::Relaxed);
            future.as_mut().poll(cx)
        })
        .await
    }

    #[tokio::test]
    async fn a_future_that_wakes_often_does_not_repoll_the_ones_that_wait() {
        let done = tokio::sync::Notify::new();
        let waiting = AtomicUsize::new(0);
        let busy = async {
            for _ in 0..100 {
                tokio::task::yield_now().await; // wakes itself: one poll each
            }
            done.notify_waiters();
            "busy"
        };
        let waits = (0..9).map(|_| async {
            counted(done.notified(), &waiting).await;
            "waited"
        });
        let futures: Vec<std::pin::Pin<Box<dyn Future<Output = &str>>>> =
            std::iter::once(Box::pin(busy) as _)
                .chain(waits.map(|w| Box::pin(w) as _))
                .collect();
        let outputs = join_all(futures).await;
        assert_eq!(outputs[0], "busy");
        assert!(outputs[1..].iter().all(|o| *o == "waited"));
        // Each waiting future: its first poll and the one after it was notified.
        let polls = waiting.load(Ordering::Relaxed);
        assert!(polls <= 9 * 2, "{polls} polls of the waiting futures");
    }

    #[test]
    fn outputs_come_in_the_order_of_the_futures() {
        let outputs = futures::executor::block_on(join_all((0..40).map(|n| async move { n })));
        assert_eq!(outputs, (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_to_join_is_nothing() {
        let none: Vec<std::future::Ready<u8>> = Vec::new();
        assert!(futures::executor::block_on(join_all(none)).is_empty());
    }
}
