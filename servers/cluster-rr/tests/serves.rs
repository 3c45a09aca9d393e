const BIN: &str = env!("CARGO_BIN_EXE_cluster-rr");

#[test]
fn two_workers_both_answer_and_stop_on_sigterm() {
    hello::testkit::check_two_workers_answer_and_stop(BIN, &[], 2);
}

#[test]
fn workers_die_with_a_sigkilled_master() {
    hello::testkit::check_workers_die_with_master(BIN, &[]);
}
