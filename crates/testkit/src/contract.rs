//! The tests every strategy binary passes: as one macro, or as named checks.

/// The tests every strategy binary passes: `strategy_contract!(BIN, extra args, child processes)`
/// in its `tests/`, optionally with an [`Answering`] (by default every worker must answer).
#[macro_export]
macro_rules! strategy_contract {
    ($bin:expr, $extra:expr, $children:expr) => {
        $crate::strategy_contract!($bin, $extra, $children, $crate::running::Answering::Every);
    };
    ($bin:expr, $extra:expr, $children:expr, $answering:expr) => {
        #[test]
        fn two_workers_both_answer_and_stop_on_sigterm() {
            $crate::running::check_workers_answer_and_stop($bin, $extra, $children, $answering);
        }

        #[test]
        fn workers_die_with_a_sigkilled_master() {
            $crate::running::check_workers_die_with_master($bin, $extra);
        }

        #[test]
        fn a_dead_worker_is_replaced() {
            $crate::recovery::check_dead_worker_is_replaced_answering($bin, $extra, $answering);
        }

        #[test]
        fn sighup_replaces_every_worker_while_keep_alive_clients_get_200s() {
            $crate::recovery::check_reload_replaces_every_worker($bin, $extra);
        }
    };
}

/// A named check: what a test runs.
pub type Check = (&'static str, Box<dyn FnOnce() + Send>);

/// The same checks as `strategy_contract!`, named, for test binaries made of trials
/// (`harness = false`), which decide themselves whether and where each runs.
pub fn checks(
    bin: &'static str,
    extra: &'static [&'static str],
    children: usize,
    answering: crate::running::Answering,
) -> Vec<Check> {
    vec![
        (
            "two_workers_both_answer_and_stop_on_sigterm",
            Box::new(move || crate::running::check_workers_answer_and_stop(bin, extra, children, answering)),
        ),
        (
            "workers_die_with_a_sigkilled_master",
            Box::new(move || crate::running::check_workers_die_with_master(bin, extra)),
        ),
        (
            "a_dead_worker_is_replaced",
            Box::new(move || crate::recovery::check_dead_worker_is_replaced_answering(bin, extra, answering)),
        ),
        (
            "sighup_replaces_every_worker_while_keep_alive_clients_get_200s",
            Box::new(move || crate::recovery::check_reload_replaces_every_worker(bin, extra)),
        ),
    ]
}

/// The contract as trials named `<prefix>::<check>`, for a strategy that needs something of the
/// machine (root, say) to run at all: ignored with the reason outside CI when it is missing.
pub fn trials(
    prefix: &str,
    bin: &'static str,
    extra: &'static [&'static str],
    children: usize,
    needs: crate::Needs,
) -> Vec<crate::Trial> {
    checks(bin, extra, children, crate::running::Answering::Every)
        .into_iter()
        .map(|(name, check)| crate::trial(format!("{prefix}::{name}"), needs, check))
        .collect()
}
