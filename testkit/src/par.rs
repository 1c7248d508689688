//! A parallel map over std threads, for jobs of seconds to minutes each
//! (robustness cells, hours of false-alarm audio): no thread-pool crate.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f(i, &items[i])` for every item, spread over every core; the results in
/// input order. A panicking job panics the caller with its own message.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(items.len())
        .max(1);
    let mut out: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        // Jobs are taken one at a time: their lengths differ a lot.
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            break done;
                        };
                        done.push((i, f(i, item)));
                    }
                })
            })
            .collect();
        for w in workers {
            match w.join() {
                Ok(done) => done.into_iter().for_each(|(i, r)| out[i] = Some(r)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.into_iter().map(|r| r.expect("every job ran")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_input_order() {
        let items: Vec<u64> = (0..100).collect();
        let out = super::map(&items, |i, &v| {
            // Uneven job lengths, so threads finish out of order.
            std::thread::sleep(std::time::Duration::from_micros(v % 7 * 50));
            (i, v * v)
        });
        assert_eq!(
            out,
            (0..100).map(|v| (v as usize, v * v)).collect::<Vec<_>>()
        );
        assert!(super::map(&[] as &[u8], |_, _| 0).is_empty());
    }

    #[test]
    #[should_panic(expected = "job 3 failed")]
    fn a_panicking_job_panics_the_caller_with_its_message() {
        super::map(&[0, 1, 2, 3, 4], |i, _| assert!(i != 3, "job {i} failed"));
    }
}
