//! Values per tenant that are costly to compute and may be a moment old.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// The most tenants remembered at once; past it, all are forgotten.
const MAX_TENANTS: usize = 1_000;

/// A tenant's value being computed or computed: when done, the time it was
/// done and the value, or nothing if its computation failed.
type Slot<V> = Arc<OnceCell<Option<(Instant, Arc<V>)>>>;

/// Per-tenant values reused for `fresh_for` after they were computed. When
/// many requests miss at the same moment, one computes and the rest wait for
/// its answer. A failed computation is not kept: its waiters each try once
/// themselves, at once, as they would have without the cache.
pub struct Recent<V> {
    fresh_for: Duration,
    slots: Mutex<HashMap<i64, Slot<V>>>,
}

impl<V> Recent<V> {
    pub fn new(fresh_for: Duration) -> Self {
        Self {
            fresh_for,
            slots: Mutex::default(),
        }
    }

    pub async fn get_or_try<E, F, Fut>(&self, tenant: i64, compute: F) -> Result<Arc<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let usable = slots.get(&tenant).filter(|slot| match slot.get() {
                None => true, // being computed: wait for it
                Some(Some((at, _))) => at.elapsed() < self.fresh_for,
                Some(None) => false,
            });
            match usable {
                Some(slot) => slot.clone(),
                None => {
                    if slots.len() >= MAX_TENANTS {
                        slots.clear();
                    }
                    let slot: Slot<V> = Arc::default();
                    slots.insert(tenant, slot.clone());
                    slot
                }
            }
        };
        let mut compute = Some(compute);
        let mut failure = None;
        let done = slot
            .get_or_init(|| async {
                let compute = compute.take().expect("computed once");
                match compute().await {
                    Ok(value) => Some((Instant::now(), Arc::new(value))),
                    Err(error) => {
                        failure = Some(error);
                        None
                    }
                }
            })
            .await;
        match (done, failure, compute) {
            (Some((_, value)), _, _) => Ok(value.clone()),
            (None, Some(error), _) => Err(error),
            // Another request's computation failed: try once ourselves.
            (None, None, Some(compute)) => compute().await.map(Arc::new),
            (None, None, None) => unreachable!("a computation that failed left its error"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn requests_that_miss_together_compute_once() {
        let recent = Arc::new(Recent::<usize>::new(Duration::from_secs(60)));
        let computed = Arc::new(AtomicUsize::new(0));
        let asks = (0..16).map(|_| {
            let (recent, computed) = (recent.clone(), computed.clone());
            tokio::spawn(async move {
                recent
                    .get_or_try(1, || async {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(computed.fetch_add(1, Ordering::SeqCst))
                    })
                    .await
            })
        });
        for ask in asks {
            assert_eq!(*ask.await.unwrap().unwrap(), 0);
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failure_is_not_kept_and_a_stale_value_is_recomputed() {
        let recent = Recent::<u32>::new(Duration::ZERO);
        let failed = recent
            .get_or_try(1, || async { Err::<u32, _>("down") })
            .await;
        assert_eq!(failed.unwrap_err(), "down");
        let first = recent.get_or_try(1, || async { Ok::<_, ()>(1) }).await;
        let second = recent.get_or_try(1, || async { Ok::<_, ()>(2) }).await;
        assert_eq!((*first.unwrap(), *second.unwrap()), (1, 2));
    }

    #[tokio::test]
    async fn waiters_of_a_failed_computation_try_themselves_at_once() {
        let recent = Arc::new(Recent::<u32>::new(Duration::from_secs(60)));
        let first = {
            let recent = recent.clone();
            tokio::spawn(async move {
                recent
                    .get_or_try(1, || async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<u32, _>("down")
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiter = recent.get_or_try(1, || async { Ok::<_, &str>(7) }).await;
        assert_eq!(first.await.unwrap().unwrap_err(), "down");
        assert_eq!(*waiter.unwrap(), 7, "the waiter computed for itself");
    }

    #[tokio::test]
    async fn tenants_are_apart() {
        let recent = Recent::<i64>::new(Duration::from_secs(60));
        for tenant in [1, 2] {
            let value = recent.get_or_try(tenant, || async move { Ok::<_, ()>(tenant * 10) });
            assert_eq!(*value.await.unwrap(), tenant * 10);
        }
    }
}
