//! The contract every strategy keeps, with each program. The shared client pins its threads to
//! every CPU in turn, so `cpu` is reached on each of its workers' CPUs.

const BIN: &str = env!("CARGO_BIN_EXE_reuseport-cbpf");

mod cpu {
    testkit::strategy_contract!(super::BIN, &["--select", "cpu"], 2);
}

mod random {
    testkit::strategy_contract!(super::BIN, &["--select", "random"], 2);
}
