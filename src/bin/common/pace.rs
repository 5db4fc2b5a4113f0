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
