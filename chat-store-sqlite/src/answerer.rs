//! Hands a group commit's answers to one task on the async runtime, which sends them there.
//!
//! An answer sent from the writer thread wakes its caller from outside the runtime, and tokio
//! queues every such wakeup in its global queue: a commit of 100 appends put 100 tasks there
//! at once, which a busy worker serves last and which the send admission's count of that
//! queue took for a saturated CPU. Sent by a task on the runtime, the same answers wake their
//! callers into the worker's own queue; the writer wakes one task per commit instead.

use std::sync::Arc;

use tokio::runtime::RuntimeFlavor;
use tokio::sync::mpsc;

use crate::write::Answer;

/// A commit's answers and its failure, if any.
type Batch = (Vec<Answer>, Option<Arc<rusqlite::Error>>);

/// Where the writer thread sends each commit's answers.
pub(crate) struct Answerer {
    batches: Option<mpsc::UnboundedSender<Batch>>,
}

impl Answerer {
    /// An answerer whose task runs on the multi-threaded runtime the caller is on. Without
    /// one (a store opened outside any runtime, or on a current-thread runtime, whose task
    /// would run only while that runtime is driven) answers are sent from the writer thread.
    pub(crate) fn on_current_runtime() -> Answerer {
        let runtime = tokio::runtime::Handle::try_current()
            .ok()
            .filter(|runtime| runtime.runtime_flavor() == RuntimeFlavor::MultiThread);
        let Some(runtime) = runtime else {
            return Answerer { batches: None };
        };
        let (batches, mut received) = mpsc::unbounded_channel::<Batch>();
        runtime.spawn(async move {
            while let Some((answers, failure)) = received.recv().await {
                send_all(answers, failure.as_ref());
            }
        });
        Answerer {
            batches: Some(batches),
        }
    }

    /// Sends `answers` with the commit's `failure`: through the runtime's task while it
    /// runs, else (its runtime shut down) from here.
    pub(crate) fn answer(&self, answers: Vec<Answer>, failure: Option<Arc<rusqlite::Error>>) {
        let batch = (answers, failure);
        let unsent = match &self.batches {
            Some(batches) => batches.send(batch).err().map(|unsent| unsent.0),
            None => Some(batch),
        };
        if let Some((answers, failure)) = unsent {
            send_all(answers, failure.as_ref());
        }
    }
}

fn send_all(answers: Vec<Answer>, failure: Option<&Arc<rusqlite::Error>>) {
    for answer in answers {
        answer(failure);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc as std_mpsc;

    use super::*;

    /// An answer that reports whether it ran on a runtime's thread, and on which thread.
    fn reporting(sent: std_mpsc::Sender<(bool, std::thread::ThreadId)>) -> Answer {
        Box::new(move |failure| {
            assert!(failure.is_none());
            let on_runtime = tokio::runtime::Handle::try_current().is_ok();
            sent.send((on_runtime, std::thread::current().id()))
                .unwrap();
        })
    }

    fn multi_threaded() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    }

    #[test]
    fn answers_from_the_writer_thread_are_sent_on_the_runtime() {
        let runtime = multi_threaded();
        let answerer = runtime.block_on(async { Answerer::on_current_runtime() });
        let (sent, answered) = std_mpsc::channel();
        let writer = std::thread::spawn(move || {
            answerer.answer(vec![reporting(sent.clone()), reporting(sent)], None);
            std::thread::current().id()
        });
        let writer = writer.join().unwrap();
        let answers: Vec<_> = answered.iter().take(2).collect();
        assert_eq!(answers.len(), 2);
        for (on_runtime, thread) in answers {
            assert!(on_runtime, "sent from a task on the runtime");
            assert_ne!(thread, writer);
        }
    }

    #[test]
    fn without_a_multi_threaded_runtime_answers_are_sent_at_once() {
        let current_thread = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let answerers = [
            Answerer::on_current_runtime(),
            current_thread.block_on(async { Answerer::on_current_runtime() }),
        ];
        for answerer in answerers {
            let (sent, answered) = std_mpsc::channel();
            answerer.answer(vec![reporting(sent)], None);
            let (on_runtime, thread) = answered.try_recv().expect("answered before returning");
            assert!(!on_runtime);
            assert_eq!(thread, std::thread::current().id());
        }
    }

    #[test]
    fn once_the_runtime_is_gone_answers_are_still_sent() {
        let runtime = multi_threaded();
        let answerer = runtime.block_on(async { Answerer::on_current_runtime() });
        drop(runtime);
        let (sent, answered) = std_mpsc::channel();
        answerer.answer(vec![reporting(sent)], None);
        let (on_runtime, _) = answered.try_recv().expect("answered before returning");
        assert!(!on_runtime);
    }
}
