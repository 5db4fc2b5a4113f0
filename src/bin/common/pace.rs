//! Readers that read in rounds. On loopback the kernel wakes a reader sleeping in epoll from
//! inside the writer's `send`, charging the wake-up to the writer, and the woken reader then
//! preempts it; browsers on other machines cost a server neither. A reader whose thread sleeps
//! between rounds of its event loop is never found waiting, at the price of up to one round
//! of latency per frame.

use std::time::Duration;

/// On a current-thread runtime: the thread sleeps `every` between rounds of the event loop
/// instead of waiting in epoll. Zero leaves the loop as it is.
pub fn read_in_rounds(every: Duration) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        loop {
            std::thread::sleep(every);
            tokio::task::yield_now().await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::read_in_rounds;
    use std::time::{Duration, Instant};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_paced_loop_sleeps_between_rounds() {
        runtime().block_on(async {
            read_in_rounds(Duration::from_millis(50));
            let begun = Instant::now();
            // Yielding lets the loop run its other tasks: the pacer's sleep comes in between.
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            assert!(begun.elapsed() >= Duration::from_millis(50));
        });
    }

    #[test]
    fn zero_leaves_the_loop_alone() {
        runtime().block_on(async {
            read_in_rounds(Duration::ZERO);
            let alive = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            assert_eq!(alive, 0, "no pacer was started");
        });
    }
}
