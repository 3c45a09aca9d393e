//! The tests every strategy binary passes, as one macro.

/// The tests every strategy binary passes: `strategy_contract!(BIN, extra args, child processes)`
/// in its `tests/`.
#[macro_export]
macro_rules! strategy_contract {
    ($bin:expr, $extra:expr, $children:expr) => {
        #[test]
        fn two_workers_both_answer_and_stop_on_sigterm() {
            $crate::running::check_two_workers_answer_and_stop($bin, $extra, $children);
        }

        #[test]
        fn workers_die_with_a_sigkilled_master() {
            $crate::running::check_workers_die_with_master($bin, $extra);
        }

        #[test]
        fn a_dead_worker_is_replaced() {
            $crate::recovery::check_dead_worker_is_replaced($bin, $extra);
        }

        #[test]
        fn sighup_replaces_every_worker_while_keep_alive_clients_get_200s() {
            $crate::recovery::check_reload_replaces_every_worker($bin, $extra);
        }
    };
}
