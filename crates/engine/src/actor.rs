//! The engine's own OS thread: callers hand it work and await the answer, so block building and
//! execution never run on (and never stall) an async runtime's workers.

use crate::EngineError;
use std::sync::{mpsc, OnceLock};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// A dedicated thread that runs jobs one at a time, in the order they were sent. It is started at
/// the first job and ends when its owner is dropped (the channel closes).
#[derive(Debug, Default)]
pub(crate) struct EngineThread {
    jobs: OnceLock<mpsc::Sender<Job>>,
}

impl EngineThread {
    fn sender(&self) -> &mpsc::Sender<Job> {
        self.jobs.get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("fastevm-engine".into())
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        // A panicking call fails alone (its caller sees the dropped reply);
                        // the thread goes on serving the next ones.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .expect("the OS starts the engine thread");
            tx
        })
    }

    /// Runs `job` on the thread and awaits its result.
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, EngineError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone away (a dropped request); the work is done all the same.
            let _ = reply.send(job());
        });
        self.sender()
            .send(job)
            .map_err(|_| EngineError::Internal("the engine thread has stopped".into()))?;
        answer.await.map_err(|_| {
            EngineError::Internal("the engine thread dropped a call (it panicked)".into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_on_one_dedicated_thread() {
        let thread = EngineThread::default();
        let caller = std::thread::current().id();
        let mut ids = Vec::new();
        let mut order = Vec::new();
        for i in 0..20 {
            let (id, n) = thread
                .run(move || (std::thread::current().id(), i))
                .await
                .unwrap();
            ids.push(id);
            order.push(n);
        }
        assert!(ids.iter().all(|id| *id == ids[0]));
        assert_ne!(ids[0], caller);
        assert_eq!(order, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_hang() {
        let thread = EngineThread::default();
        let got = thread.run(|| -> u32 { panic!("boom") }).await;
        assert!(matches!(got, Err(EngineError::Internal(_))));
        assert_eq!(thread.run(|| 7).await.unwrap(), 7);
    }
}
