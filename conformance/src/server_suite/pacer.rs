//! [`Pacer`]: a copy of the server's token bucket on the client's side, so that a case sending many
//! packets is never slowed down by the server and mistaken for a failure.

use std::time::Duration;

use tokio::time::Instant;

/// The client's estimate of the server's bucket for its session. Before each data packet, [`Pacer::take`]
/// waits until the estimate keeps a margin of tokens, since the two clocks and the server's counting of
/// what it refused may differ a little.
#[derive(Debug)]
pub(crate) struct Pacer {
    enabled: bool,
    burst: f64,
    per_second: f64,
    margin: f64,
    tokens: f64,
    at: Instant,
}

impl Pacer {
    /// A full bucket of `burst`, refilled at `per_second`.
    pub(crate) fn new(burst: u32, per_second: u32) -> Pacer {
        let burst = f64::from(burst.max(1));
        Pacer {
            enabled: true,
            burst,
            per_second: f64::from(per_second.max(1)),
            margin: (burst / 10.0).max(2.0).min(burst - 1.0).max(0.0),
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Stops waiting: for cases that exceed the rate on purpose.
    pub(crate) fn disable(&mut self) {
        self.enabled = false;
    }

    /// Counts one packet, first waiting if the bucket would run too low.
    pub(crate) async fn take(&mut self) {
        self.refill();
        if self.enabled && self.tokens < self.margin + 1.0 {
            let wait = (self.margin + 1.0 - self.tokens) / self.per_second;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.refill();
        }
        self.tokens -= 1.0;
    }

    /// Counts a packet without waiting (a retransmission, which must not be held up).
    pub(crate) fn count(&mut self) {
        self.refill();
        self.tokens -= 1.0;
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.at = now;
    }
}
