//! The one way fnjit runs work on every core: the side-by-side check, batch compiles and
//! `Kernel::eval_par` all go through [`map`], scoped threads over a shared counter. (Chosen over
//! rayon by measurement: docs/performance.md, "Every core".)

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many threads the OS says can run at once (1 when it cannot say).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `job(state, i)` for every `i` in `0..count`, on up to `threads` threads (the calling
/// thread among them), each thread with its own `state` from `init`. Returns the results in
/// order of `i`, and how many threads ran. A thread the OS refuses leaves its share to the
/// others: slower, not wrong.
pub(crate) fn map<S, R: Send>(
    count: usize,
    threads: usize,
    init: impl Fn() -> S + Sync,
    job: impl Fn(&mut S, usize) -> R + Sync,
) -> (Vec<R>, usize) {
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut state = init();
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return done;
            }
            done.push((i, job(&mut state, i)));
        }
    };
    let (mut all, ran) = std::thread::scope(|s| {
        let spawned: Vec<_> = (1..threads.clamp(1, count.max(1)))
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, worker).ok())
            .collect();
        let ran = spawned.len() + 1;
        let mut all = worker();
        for handle in spawned {
            // A job cannot panic short of a bug in fnjit or Cranelift; that bug is the caller's
            // to see, as if the job had run on the calling thread.
            all.extend(
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        (all, ran)
    });
    all.sort_unstable_by_key(|&(i, _)| i);
    (all.into_iter().map(|(_, r)| r).collect(), ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_runs_once_and_results_come_in_order() {
        for (count, threads) in [(0, 4), (1, 4), (7, 1), (1000, 3), (5, 64)] {
            let (results, ran) = map(
                count,
                threads,
                || 0usize,
                |seen, i| {
                    *seen += 1;
                    i * i
                },
            );
            assert_eq!(results, (0..count).map(|i| i * i).collect::<Vec<_>>());
            assert!(
                (1..=threads.max(1)).contains(&ran),
                "{count} {threads}: {ran}"
            );
        }
    }

    #[test]
    fn each_thread_keeps_its_own_state() {
        let (results, _) = map(100, 4, Vec::new, |mine: &mut Vec<usize>, i| {
            mine.push(i);
            mine.windows(2).all(|w| w[0] < w[1])
        });
        assert!(results.iter().all(|&ordered| ordered));
    }
}
