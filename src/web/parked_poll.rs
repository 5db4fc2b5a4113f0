//! A connection served by `live_connections`, and its `/lots/{id}/next` polls parked on the
//! worker's relay for the lot (`relay::Parked`): when the event comes, the relay writes the
//! answer itself, in one loop over the lot's parked polls (as Nchan does), and the connection's
//! task is not woken for it, only when its client sends the next request. The task takes over
//! what the relay cannot finish: a write the socket would not take at once, a timeout, the
//! server stopping, pushes missed. Why (measured, BENCHMARKS.md): user space was ~40% of
//! Gavel's CPU per long-poll answer, mostly waking, polling and ending a task and its channel
//! receiver for every answer.

use super::live_connections::{HEAD_LIMIT, IDLE, Polls, read_some, write_all, write_answer};
use crate::live::LiveEvent;
use crate::live::poll::Answer;
use crate::live::relay::{self, Parked};
use crate::live::{Filter, StreamGuard, Transport};
use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use uuid::Uuid;

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    /// No poll parked.
    Idle,
    Parked,
    /// The relay wrote the answer.
    Answered,
    /// The relay wrote part of the answer; the rest is in `owed`.
    Owed,
    /// The relay handed the poll back: it ends without an event.
    Released,
    /// The relay's write failed: the client is gone.
    Failed,
}

pub(super) struct Conn {
    pub(super) io: TcpStream,
    pub(super) polls: Arc<Polls>,
    state: Cell<State>,
    /// The parked poll's cursor, its answer's HTTP minor version and its admission.
    after: Cell<i64>,
    minor: Cell<u8>,
    guard: RefCell<Option<StreamGuard>>,
    owed: RefCell<Vec<u8>>,
    /// The task holds a pipelined request: wake it once the answer is written.
    wake_when_answered: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    /// The connection's one deadline: idle between requests, the poll's timeout while parked,
    /// idle again from the relay's answer. Moved later it costs an atomic store; a new timer
    /// takes the timer wheel's lock going in and again coming out.
    timer: RefCell<Pin<Box<Sleep>>>,
}

/// How a parked poll ended.
pub(super) enum Outcome {
    /// The relay wrote the answer: on to the next request.
    Answered,
    /// The client left (or sent too much while waiting), or stayed idle after the answer.
    Close,
    /// No event: the task answers empty-handed (timeout, server stopping, pushes missed).
    Unanswered(i64),
}

/// What `park` did with a poll.
pub(super) enum Parking {
    Parked,
    /// Already behind: answer at once.
    Backlog(Answer),
    /// The server holds all the live connections it may: the routed handler says so.
    Refused,
}

impl Conn {
    pub(super) fn new(io: TcpStream, polls: Arc<Polls>) -> Rc<Conn> {
        Rc::new(Conn {
            io,
            polls,
            state: Cell::new(State::Idle),
            after: Cell::new(0),
            minor: Cell::new(1),
            guard: RefCell::new(None),
            owed: RefCell::new(Vec::new()),
            wake_when_answered: Cell::new(false),
            waker: RefCell::new(None),
            timer: RefCell::new(Box::pin(tokio::time::sleep(IDLE))),
        })
    }

    /// The socket, once no task or relay can reach the connection any more (for actix-http or
    /// a stream). A relay holds only weak references.
    pub(super) fn into_io(conn: Rc<Conn>) -> Option<TcpStream> {
        Rc::try_unwrap(conn).ok().map(|conn| conn.io)
    }

    pub(super) fn set_deadline(&self, at: Instant) {
        if let Ok(mut timer) = self.timer.try_borrow_mut() {
            timer.as_mut().reset(at);
        }
    }

    /// Resolves at the deadline.
    pub(super) fn deadline(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| match self.timer.try_borrow_mut() {
            Ok(mut timer) => timer.as_mut().poll(cx),
            Err(_) => Poll::Pending,
        })
    }

    /// Parks a poll for the lot's next event after `after` on this worker's relay; `None` where
    /// that cannot be (off the workers, or the backlog takes a database read): the poll then
    /// waits as routed polls do.
    pub(super) fn park(
        self: &Rc<Self>,
        lot: Uuid,
        after: i64,
        minor: u8,
        wait: Duration,
    ) -> Option<Parking> {
        let hub = &self.polls.hub;
        // The relay first: it hears what is published after the backlog is read.
        if !hub.relay_for(lot) {
            return None;
        }
        let (events, scanned, _) = hub.page_in_memory(&Filter::Lot(lot), after)?;
        if !events.is_empty() {
            return Some(Parking::Backlog(Answer {
                events,
                cursor: scanned,
            }));
        }
        if hub.is_stopping() {
            return Some(Parking::Backlog(Answer::empty(scanned)));
        }
        let Ok(guard) = hub.admit(Transport::LongPoll, None) else {
            return Some(Parking::Refused);
        };
        self.after.set(scanned);
        self.minor.set(minor);
        *self.guard.borrow_mut() = Some(guard);
        self.wake_when_answered.set(false);
        self.set_deadline(Instant::now() + wait);
        self.state.set(State::Parked);
        let me: Weak<dyn Parked> = Rc::downgrade(self) as Weak<Conn>;
        if !relay::park(lot, me) {
            self.unpark();
            return None;
        }
        Some(Parking::Parked)
    }

    /// Waits for the parked poll's end; reads what the client sends meanwhile into `pipelined`.
    pub(super) async fn wait_parked(&self, pipelined: &mut Vec<u8>) -> Outcome {
        loop {
            let woke = tokio::select! {
                biased;
                () = self.wanted() => Woke::Relay,
                read = read_some(&self.io, pipelined) => Woke::Read(matches!(read, Ok(n) if n > 0)),
                () = self.deadline() => Woke::Deadline,
            };
            match (self.state.get(), woke) {
                (State::Parked, Woke::Read(true)) if pipelined.len() <= HEAD_LIMIT => {
                    self.wake_when_answered.set(true);
                }
                (State::Parked, Woke::Relay) => {}
                (State::Parked, Woke::Deadline) => {
                    self.unpark();
                    return Outcome::Unanswered(self.after.get());
                }
                (State::Parked, Woke::Read(_)) => {
                    self.unpark();
                    return Outcome::Close;
                }
                (State::Answered, Woke::Read(false)) => return Outcome::Close,
                // Idle from the answer on, and nothing pipelined: closed, as actix-http does.
                (State::Answered, Woke::Deadline) if pipelined.is_empty() => {
                    return Outcome::Close;
                }
                (State::Answered, _) => return Outcome::Answered,
                (State::Owed, _) => {
                    let owed = self.owed.take();
                    self.state.set(State::Idle);
                    return if write_all(&self.io, &owed).await.is_ok() {
                        Outcome::Answered
                    } else {
                        Outcome::Close
                    };
                }
                (State::Released, _) => {
                    self.state.set(State::Idle);
                    return Outcome::Unanswered(self.after.get());
                }
                (State::Failed | State::Idle, _) => return Outcome::Close,
            }
        }
    }

    /// Resolves when the relay hands the task something to do.
    fn wanted(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            let wanted = match self.state.get() {
                State::Owed | State::Released | State::Failed => true,
                State::Answered => self.wake_when_answered.get(),
                State::Idle | State::Parked => false,
            };
            if wanted {
                return Poll::Ready(());
            }
            let mut waker = self.waker.borrow_mut();
            match waker.as_mut() {
                Some(w) => w.clone_from(cx.waker()),
                None => *waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
    }

    fn wake(&self) {
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Leaves the relay (its entry is dropped at its next push) and the count of held polls.
    fn unpark(&self) {
        self.state.set(State::Idle);
        self.guard.take();
    }
}

enum Woke {
    Relay,
    /// Whether bytes came (not the end of the stream or an error).
    Read(bool),
    Deadline,
}

impl Parked for Conn {
    fn waiting(&self) -> bool {
        self.state.get() == State::Parked
    }

    fn deliver(&self, event: &Arc<LiveEvent>) -> bool {
        if event.id <= self.after.get() {
            return false;
        }
        let hub = &self.polls.hub;
        if hub.is_stopping() {
            self.release();
            return true;
        }
        let now = Instant::now();
        hub.metrics
            .observe_delivery(now.into_std().saturating_duration_since(event.published));
        let mut out = Vec::with_capacity(event.json().len() + 256);
        write_answer(
            &mut out,
            &self.polls,
            self.minor.get(),
            true,
            Some(event.json()),
            Some(event.id),
        );
        self.guard.take();
        self.polls.answered.count_one();
        let written = match self.io.try_write(&out) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(_) => {
                self.state.set(State::Failed);
                self.wake();
                return true;
            }
        };
        if written == out.len() {
            self.state.set(State::Answered);
            self.set_deadline(now + IDLE);
            if self.wake_when_answered.get() {
                self.wake();
            }
        } else {
            out.drain(..written);
            *self.owed.borrow_mut() = out;
            self.state.set(State::Owed);
            self.wake();
        }
        true
    }

    fn release(&self) {
        self.state.set(State::Released);
        self.guard.take();
        self.wake();
    }
}
