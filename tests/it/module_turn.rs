//! One module's tests at a time. The end-to-end tests start whole chains, Docker containers and
//! browsers; when every file was its own test binary, cargo ran the files one after another and
//! only a file's own tests shared the machine. In this one binary every test takes its module's
//! turn first: tests of the same module run side by side, tests of different modules never do.

use std::sync::{Condvar, Mutex, PoisonError};

struct Running {
    module: Option<&'static str>,
    tests: usize,
}

static RUNNING: Mutex<Running> = Mutex::new(Running {
    module: None,
    tests: 0,
});
static FINISHED: Condvar = Condvar::new();

/// A running test's share of its module's turn; the turn passes on when the module's last
/// running test drops it (also when the test fails).
pub(crate) struct ModuleTurn;

/// Waits until no test of another module runs, then joins `module`'s turn.
pub(crate) fn take(module: &'static str) -> ModuleTurn {
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    while running.tests > 0 && running.module != Some(module) {
        running = FINISHED
            .wait(running)
            .unwrap_or_else(PoisonError::into_inner);
    }
    running.module = Some(module);
    running.tests += 1;
    ModuleTurn
}

impl Drop for ModuleTurn {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running.tests -= 1;
        if running.tests == 0 {
            running.module = None;
            FINISHED.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        thread,
        time::{Duration, Instant},
    };

    /// Two modules' tests started together never overlap; a module's own tests do.
    #[test]
    fn modules_take_turns() {
        static IN_A: AtomicUsize = AtomicUsize::new(0);
        static IN_B: AtomicUsize = AtomicUsize::new(0);
        static OVERLAPS: AtomicUsize = AtomicUsize::new(0);
        static A_AT_ONCE: AtomicUsize = AtomicUsize::new(0);
        let run =
            |module: &'static str, mine: &'static AtomicUsize, other: &'static AtomicUsize| {
                thread::spawn(move || {
                    let _turn = take(module);
                    let now = mine.fetch_add(1, Ordering::SeqCst) + 1;
                    if module == "turn-test-a" {
                        A_AT_ONCE.fetch_max(now, Ordering::SeqCst);
                        // Stay until the other test of module a is inside the turn too.
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while A_AT_ONCE.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                            thread::sleep(Duration::from_millis(1));
                        }
                    }
                    for _ in 0..20 {
                        if other.load(Ordering::SeqCst) > 0 {
                            OVERLAPS.fetch_add(1, Ordering::SeqCst);
                        }
                        thread::sleep(Duration::from_millis(2));
                    }
                    mine.fetch_sub(1, Ordering::SeqCst);
                })
            };
        let held = take("turn-test-a");
        let threads = vec![
            run("turn-test-a", &IN_A, &IN_B),
            run("turn-test-a", &IN_A, &IN_B),
            run("turn-test-b", &IN_B, &IN_A),
            run("turn-test-b", &IN_B, &IN_A),
        ];
        thread::sleep(Duration::from_millis(100));
        drop(held);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(OVERLAPS.load(Ordering::SeqCst), 0);
        assert_eq!(
            A_AT_ONCE.load(Ordering::SeqCst),
            2,
            "a module's tests run together"
        );
    }
}
