//! A CPU budget for one document's work: parse, normalization, sanitizing, article extraction,
//! fingerprinting and tagging together.
//!
//! The work runs inside [`Budget::run`] and calls [`check`] at its natural steps (each item,
//! each story, each stage of one story). A check past the budget stops the work there, on the
//! thread that does it, by unwinding with an [`OverBudget`] value that `run` catches and returns
//! as an error: the work ends inside itself, no thread is abandoned, and the owned data it held
//! is dropped on the way out. This is the cancellation of a pure computation, the way salsa
//! cancels queries (`std::panic::resume_unwind`, which skips the panic hook: nothing is
//! printed). The time counted is the thread's CPU time, so a busy machine does not push a
//! document over. Outside `run`, `check` does nothing.
//!
//! What the budget cannot split (one call into feed-rs, ammonia or the extractor) is kept
//! linear in its input by the stages themselves; the budget bounds how many such steps one
//! document can take. Never: measures wall time for the decision, or catches other panics.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// The work ran past its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the document took more than its {limit_ms} ms CPU budget (stopped in {stage})")]
pub struct OverBudget {
    pub limit_ms: u64,
    /// The step that found the budget spent.
    pub stage: &'static str,
}

/// CPU time spent by the calling thread.
fn thread_cpu() -> Duration {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0).min(999_999_999),
    )
}

/// What the running work may still spend, on this thread.
#[derive(Clone, Copy)]
struct Active {
    /// CPU time of the thread when the work began.
    cpu_start: Duration,
    /// Wall time when the work began: CPU time never runs ahead of it on one thread, so the
    /// costly CPU clock is read only once the wall clock says the budget could be spent.
    wall_start: Instant,
    limit: Duration,
}

thread_local! {
    static ACTIVE: Cell<Option<Active>> = const { Cell::new(None) };
}

/// One document's budget, spent across the runs it is given to (a full-text feed's document is
/// worked on in several steps, with its article pages in between).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    limit: Duration,
    spent: Duration,
}

impl Budget {
    /// A budget of `limit` CPU time.
    pub fn new(limit: Duration) -> Budget {
        Budget {
            limit,
            spent: Duration::ZERO,
        }
    }

    /// CPU time spent so far.
    pub fn spent(&self) -> Duration {
        self.spent
    }

    /// Runs `work` on this thread with what is left of the budget. Another panic passes through
    /// untouched.
    pub fn run<T>(&mut self, work: impl FnOnce() -> T) -> Result<T, OverBudget> {
        let left = self.limit.saturating_sub(self.spent);
        let over = OverBudget {
            limit_ms: self.limit.as_millis() as u64,
            stage: "start",
        };
        if left.is_zero() {
            return Err(over);
        }
        let cpu_start = thread_cpu();
        let outer = ACTIVE.with(|a| {
            a.replace(Some(Active {
                cpu_start,
                wall_start: Instant::now(),
                limit: left,
            }))
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        ACTIVE.with(|a| a.set(outer));
        self.spent += thread_cpu().saturating_sub(cpu_start);
        match result {
            Ok(v) => Ok(v),
            Err(payload) => match payload.downcast::<OverBudget>() {
                Ok(mut o) => {
                    o.limit_ms = over.limit_ms;
                    Err(*o)
                }
                Err(other) => std::panic::resume_unwind(other),
            },
        }
    }
}

/// Stops the running work (see [`Budget::run`]) if its budget is spent; `stage` names where.
/// Costs a clock read (no system call) while the budget is far from spent.
pub fn check(stage: &'static str) {
    let Some(a) = ACTIVE.with(Cell::get) else {
        return;
    };
    if a.wall_start.elapsed() < a.limit {
        return;
    }
    if thread_cpu().saturating_sub(a.cpu_start) >= a.limit {
        std::panic::resume_unwind(Box::new(OverBudget { limit_ms: 0, stage }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(ms: u64, stage: &'static str) -> u64 {
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(ms) {
            x = x.wrapping_add(std::hint::black_box(1));
            check(stage);
        }
        x
    }

    #[test]
    fn work_within_its_budget_returns_and_counts_what_it_spent() {
        let mut b = Budget::new(Duration::from_secs(5));
        assert!(b.run(|| spin(20, "spin")).is_ok());
        assert!(b.spent() >= Duration::from_millis(10), "{:?}", b.spent());
    }

    #[test]
    fn work_past_its_budget_is_stopped_inside_and_says_where() {
        let mut b = Budget::new(Duration::from_millis(50));
        let t = Instant::now();
        let e = b.run(|| spin(10_000, "spinning")).expect_err("over budget");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(e.stage, "spinning");
        assert_eq!(e.limit_ms, 50);
        // The budget is spent for what comes after, and checks outside a run do nothing.
        assert!(b.run(|| 1).is_err());
        check("outside");
    }

    #[test]
    fn other_panics_pass_through() {
        let mut b = Budget::new(Duration::from_secs(5));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = b.run(|| panic!("a real bug"));
        }));
        assert!(r.is_err());
        check("after");
    }

    #[test]
    fn waiting_is_not_spending() {
        let mut b = Budget::new(Duration::from_millis(100));
        let r = b.run(|| {
            std::thread::sleep(Duration::from_millis(300));
            check("after a sleep");
        });
        assert!(r.is_ok(), "sleeping costs no CPU");
    }
}
