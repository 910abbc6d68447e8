//! The one way fnjit runs work on every core: the side-by-side check, batch compiles and
//! `Kernel::eval_par` all go through [`map`], on one rayon pool of the process's own. Chosen over
//! scoped threads by measurement (docs/performance.md, "Every core"): its threads stay warm, so
//! splitting pays from about 10^4 rows on, where starting threads does not.
//!
//! The pool is fnjit's, built on first use, not rayon's global one: should the OS refuse its
//! threads, building it fails with an error instead of a panic, and the work runs on the calling
//! thread (slower, not wrong).

use rayon::prelude::*;
use std::sync::OnceLock;

/// fnjit's thread pool, or `None` when the OS refused its threads.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("fnjit-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// How many threads run work at once (1 when the OS refused the pool's threads).
pub(crate) fn cores() -> usize {
    pool().map_or(1, rayon::ThreadPool::current_num_threads)
}

/// Runs `job(state, i)` for every `i` in `0..count`, on the pool's threads when `threads` is
/// more than 1 (each piece of work with its own `state` from `init`), else on the calling thread.
/// Returns the results in order of `i`, and how many threads could run them.
pub(crate) fn map<S, R: Send>(
    count: usize,
    threads: usize,
    init: impl Fn() -> S + Sync + Send,
    job: impl Fn(&mut S, usize) -> R + Sync + Send,
) -> (Vec<R>, usize) {
    match pool() {
        Some(pool) if threads > 1 && count > 1 => {
            let results = pool.install(|| {
                (0..count)
                    .into_par_iter()
                    .map_init(&init, |state, i| job(state, i))
                    .collect()
            });
            (results, pool.current_num_threads().min(count))
        }
        _ => {
            let mut state = init();
            ((0..count).map(|i| job(&mut state, i)).collect(), 1)
        }
    }
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
                ran >= 1 && ran <= cores().max(1),
                "{count} {threads}: {ran}"
            );
        }
    }

    #[test]
    fn each_piece_of_work_keeps_its_own_state() {
        let (results, _) = map(100, 4, Vec::new, |mine: &mut Vec<usize>, i| {
            mine.push(i);
            mine.windows(2).all(|w| w[0] < w[1])
        });
        assert!(results.iter().all(|&ordered| ordered));
    }
}
