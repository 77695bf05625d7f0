//! Admission control: shed work with `503` and `Retry-After` before it queues up, so
//! the requests that are accepted keep a bounded latency.
//!
//! Three signals, checked per request before any work:
//! - the request's own wait ([`QueueWait`]): the accept loop measures, for each request,
//!   how long its connection waited to run after the socket became readable. When the
//!   CPU is the bottleneck that is where requests queue: in front of the handlers, not
//!   inside them (with the CPU saturated each handler is short and few are in flight).
//!   A request that waited longer than `max_queue` is answered 503 at once, so every
//!   accepted request waited at most `max_queue`, and each shed answer is far cheaper
//!   than a validation, which drains the queue;
//! - the runtime's delay: a monitor task asks the runtime to wake it every few
//!   milliseconds and measures how late it runs, which catches a worker blocked by
//!   something else and requests whose wait could not be measured; past `max_queue`
//!   the service sheds until the delay falls again;
//! - concurrency: at most `max_in_flight` requests inside handlers (a request waiting
//!   on a slow issuer counts; the per-key-set bound of `jwtshield-jwks` keeps one issuer
//!   from taking them all).
//!
//! The health, readiness and metrics endpoints are never shed.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::problem::Problem;

/// How long a request waited to be read after its bytes were ready: from the moment the
/// runtime was told its connection's socket was readable to the moment the connection
/// ran and read them. The accept loop (`serve`) puts it in each request's extensions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueWait(pub Duration);

/// How often the monitor samples the runtime's delay.
const SAMPLE: Duration = Duration::from_millis(5);

/// The shared admission state.
#[derive(Debug)]
pub struct Admission {
    max_in_flight: usize,
    max_queue: Duration,
    in_flight: AtomicUsize,
    /// The runtime's scheduling delay, in microseconds: the latest sample.
    delay_us: AtomicU64,
    /// The highest sample since [`Admission::take_peak_delay`] was last called.
    peak_us: AtomicU64,
    shed_queue: AtomicU64,
    shed_concurrency: AtomicU64,
}

impl Admission {
    /// Admission with these bounds. Call [`Admission::spawn_monitor`] in a runtime.
    pub fn new(max_in_flight: usize, max_queue: Duration) -> Arc<Admission> {
        Arc::new(Admission {
            max_in_flight: max_in_flight.max(1),
            max_queue,
            in_flight: AtomicUsize::new(0),
            delay_us: AtomicU64::new(0),
            peak_us: AtomicU64::new(0),
            shed_queue: AtomicU64::new(0),
            shed_concurrency: AtomicU64::new(0),
        })
    }

    /// Starts the delay monitor; it ends when the admission state is dropped.
    pub fn spawn_monitor(self: &Arc<Self>) {
        let weak: Weak<Admission> = Arc::downgrade(self);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                loop {
                    let asked = Instant::now();
                    tokio::time::sleep(SAMPLE).await;
                    let late = asked.elapsed().saturating_sub(SAMPLE);
                    let Some(a) = weak.upgrade() else { return };
                    let us = late.as_micros() as u64;
                    a.delay_us.store(us, Ordering::Relaxed);
                    a.peak_us.fetch_max(us, Ordering::Relaxed);
                }
            });
        }
    }

    /// The runtime's latest scheduling delay.
    pub fn queue_delay(&self) -> Duration {
        Duration::from_micros(self.delay_us.load(Ordering::Relaxed))
    }

    /// The highest scheduling delay since the last call (for each `/metrics` scrape).
    pub fn take_peak_delay(&self) -> Duration {
        Duration::from_micros(self.peak_us.swap(0, Ordering::Relaxed))
    }

    /// Requests inside handlers now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests shed so far: (queueing, concurrency).
    pub fn shed(&self) -> (u64, u64) {
        (
            self.shed_queue.load(Ordering::Relaxed),
            self.shed_concurrency.load(Ordering::Relaxed),
        )
    }

    /// The problem to answer now, if a request that waited `waited` must be shed.
    fn refuse(&self, waited: Duration) -> Option<Problem> {
        if waited > self.max_queue {
            self.shed_queue.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("jwtshield_http_shed_total", "reason" => "queue").increment(1);
            return Some(Problem::unavailable(format!(
                "overloaded: this request waited {} ms for the CPU (limit {} ms); retry shortly",
                waited.as_millis(),
                self.max_queue.as_millis()
            )));
        }
        if self.queue_delay() > self.max_queue {
            self.shed_queue.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("jwtshield_http_shed_total", "reason" => "queue").increment(1);
            return Some(Problem::unavailable(format!(
                "overloaded: work waits {} ms for the CPU (limit {} ms); retry shortly",
                self.queue_delay().as_millis(),
                self.max_queue.as_millis()
            )));
        }
        if self.in_flight.load(Ordering::Relaxed) >= self.max_in_flight {
            self.shed_concurrency.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("jwtshield_http_shed_total", "reason" => "overloaded").increment(1);
            return Some(Problem::unavailable(format!(
                "too many requests in flight (limit {}); retry shortly",
                self.max_in_flight
            )));
        }
        None
    }
}

/// The [`Layer`] that applies [`Admission`].
#[derive(Clone)]
pub struct AdmissionLayer(pub Arc<Admission>);

impl<S> Layer<S> for AdmissionLayer {
    type Service = AdmissionService<S>;

    fn layer(&self, inner: S) -> AdmissionService<S> {
        AdmissionService {
            inner,
            admission: self.0.clone(),
        }
    }
}

/// The [`Service`] of [`AdmissionLayer`].
#[derive(Clone)]
pub struct AdmissionService<S> {
    inner: S,
    admission: Arc<Admission>,
}

/// Counts a request in flight until it is answered.
struct Admitted(Arc<Admission>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S> Service<Request> for AdmissionService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let exempt = matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics");
        let waited = req
            .extensions()
            .get::<QueueWait>()
            .map_or(Duration::ZERO, |w| w.0);
        if !exempt && let Some(problem) = self.admission.refuse(waited) {
            return Box::pin(async move { Ok(problem.into_response()) });
        }
        self.admission.in_flight.fetch_add(1, Ordering::Relaxed);
        let admitted = Admitted(self.admission.clone());
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let res = inner.call(req).await;
            drop(admitted);
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_on_delay_and_on_concurrency() {
        let a = Admission::new(2, Duration::from_millis(50));
        assert!(a.refuse(Duration::ZERO).is_none());
        assert!(a.refuse(Duration::from_millis(50)).is_none());
        // the request's own wait
        let p = a.refuse(Duration::from_millis(51)).unwrap();
        assert_eq!(p.details().status, 503);
        assert!(p.details().detail.contains("this request waited 51 ms"));
        // the runtime's delay
        a.delay_us.store(80_000, Ordering::Relaxed);
        let p = a.refuse(Duration::ZERO).unwrap();
        assert!(p.details().detail.contains("80 ms"));
        a.delay_us.store(1_000, Ordering::Relaxed);
        a.in_flight.store(2, Ordering::Relaxed);
        assert!(
            a.refuse(Duration::ZERO)
                .unwrap()
                .details()
                .detail
                .contains("limit 2")
        );
        assert_eq!(a.shed(), (2, 1));
    }
}
