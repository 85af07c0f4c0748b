//! Work that many connections ask for at the same moment, done a burst at a
//! time. A thousand nodes of a phase are woken together and answer within a
//! moment of each other; each asking the database alone put a thousand
//! writers in contention for SQLite's one write lock, where the losers sleep
//! and retry. Here one task per kind takes whatever has queued up and does it
//! in one go; each caller waits for its own share of the outcome.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

use crate::services::ServiceError;

/// Requests waiting; past it, callers wait to queue theirs.
const QUEUED: usize = 4_096;

type Reply<O> = oneshot::Sender<Result<O, ServiceError>>;

/// Where callers hand their requests in.
pub struct Batched<I, O> {
    queue: mpsc::Sender<(I, Reply<O>)>,
}

/// The working end, for [`Worker::run`]; taken once.
pub struct Worker<I, O> {
    taken: mpsc::Receiver<(I, Reply<O>)>,
    burst: usize,
}

/// A queue that takes up to `burst` requests at a time.
pub fn channel<I, O>(burst: usize) -> (Batched<I, O>, Worker<I, O>) {
    let (queue, taken) = mpsc::channel(QUEUED);
    (Batched { queue }, Worker { taken, burst })
}

impl<I, O> Batched<I, O> {
    /// Returns once the request is done (or could not be).
    pub async fn ask(&self, request: I) -> Result<O, ServiceError> {
        let (reply, outcome) = oneshot::channel();
        let stopped = || ServiceError::Unexpected(anyhow::anyhow!("the engine stopped"));
        self.queue
            .send((request, reply))
            .await
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

impl<I: Clone, O> Worker<I, O> {
    /// Does queued requests with `work`, a burst at a time, until every
    /// [`Batched`] is dropped. `work` answers a burst in its order, or fails
    /// it whole: then, unless the database is out of reach, each request is
    /// tried alone, so that one bad request does not cost the others theirs.
    /// A panic in `work` is its burst's failure, not the worker's.
    pub async fn run<F, Fut>(mut self, work: F)
    where
        F: Fn(Vec<I>) -> Fut,
        Fut: Future<Output = Result<Vec<O>, ServiceError>>,
    {
        let mut burst = Vec::with_capacity(self.burst);
        while self.taken.recv_many(&mut burst, self.burst).await > 0 {
            let (requests, replies): (Vec<I>, Vec<Reply<O>>) =
                std::mem::take(&mut burst).into_iter().unzip();
            let alone = requests.len() == 1;
            match guarded(&work, requests.clone()).await {
                Ok(outcomes) => {
                    for (reply, outcome) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(ServiceError::Unavailable(error)) => {
                    tracing::debug!(%error, "the database is out of reach for a burst");
                    for reply in replies {
                        let again = sea_orm::DbErr::Custom(error.to_string());
                        let _ = reply.send(Err(ServiceError::Unavailable(again)));
                    }
                }
                Err(error) if alone => {
                    if let Some(reply) = replies.into_iter().next() {
                        let _ = reply.send(Err(error));
                    }
                }
                Err(_) => {
                    for (request, reply) in requests.into_iter().zip(replies) {
                        let outcome = guarded(&work, vec![request])
                            .await
                            .and_then(|mut one| one.pop().ok_or_else(missing));
                        let _ = reply.send(outcome);
                    }
                }
            }
        }
    }
}

async fn guarded<I, O, F, Fut>(work: &F, requests: Vec<I>) -> Result<Vec<O>, ServiceError>
where
    F: Fn(Vec<I>) -> Fut,
    Fut: Future<Output = Result<Vec<O>, ServiceError>>,
{
    let expected = requests.len();
    match AssertUnwindSafe(work(requests)).catch_unwind().await {
        Ok(Ok(outcomes)) if outcomes.len() == expected => Ok(outcomes),
        Ok(Ok(_)) => Err(missing()),
        Ok(Err(error)) => Err(error),
        Err(_) => {
            tracing::error!("a burst of engine work panicked");
            Err(ServiceError::Unexpected(anyhow::anyhow!(
                "the engine failed on this request"
            )))
        }
    }
}

fn missing() -> ServiceError {
    ServiceError::Unexpected(anyhow::anyhow!("a burst was answered short"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Doubles each number; fails a burst holding 13, panics on one holding 666.
    async fn double(numbers: Vec<u32>) -> Result<Vec<u32>, ServiceError> {
        if numbers.contains(&666) {
            panic!("the number of the beast");
        }
        if numbers.contains(&13) {
            return Err(ServiceError::Conflict("unlucky".into()));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(numbers.iter().map(|n| n * 2).collect())
    }

    #[tokio::test]
    async fn requests_that_queue_together_are_done_together() {
        let (batched, worker) = channel::<u32, u32>(64);
        let bursts = Arc::new(AtomicUsize::new(0));
        let counted = bursts.clone();
        tokio::spawn(worker.run(move |numbers| {
            counted.fetch_add(1, Ordering::SeqCst);
            double(numbers)
        }));
        let batched = Arc::new(batched);
        let asks: Vec<_> = (1000..1100)
            .map(|n| {
                let batched = batched.clone();
                tokio::spawn(async move { batched.ask(n).await })
            })
            .collect();
        for (n, ask) in (1000..).zip(asks) {
            assert_eq!(ask.await.unwrap().unwrap(), n * 2);
        }
        assert!(
            bursts.load(Ordering::SeqCst) < 100,
            "some requests shared a burst"
        );
    }

    #[tokio::test]
    async fn a_bad_request_fails_alone_and_a_panic_does_not_stop_the_worker() {
        let (batched, worker) = channel::<u32, u32>(64);
        tokio::spawn(worker.run(double));
        let batched = Arc::new(batched);
        let asks: Vec<_> = [1, 13, 2, 666, 3]
            .into_iter()
            .map(|n| {
                let batched = batched.clone();
                tokio::spawn(async move { (n, batched.ask(n).await) })
            })
            .collect();
        for ask in asks {
            match ask.await.unwrap() {
                (13, outcome) => assert!(matches!(outcome, Err(ServiceError::Conflict(_)))),
                (666, outcome) => assert!(matches!(outcome, Err(ServiceError::Unexpected(_)))),
                (n, outcome) => assert_eq!(outcome.unwrap(), n * 2),
            }
        }
        assert_eq!(batched.ask(21).await.unwrap(), 42, "the worker goes on");
    }
}
