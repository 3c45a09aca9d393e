//! The contract every strategy keeps, with each program. Loading them needs CAP_BPF: as root only.

use testkit::{contract, Needs};

const BIN: &str = env!("CARGO_BIN_EXE_reuseport-ebpf");

fn main() {
    let root = Needs {
        root: true,
        ..Needs::NOTHING
    };
    let mut trials = contract::trials("rr", BIN, &["--select", "rr"], 2, root);
    trials.extend(contract::trials("least", BIN, &["--select", "least"], 2, root));
    testkit::run_trials(trials);
}
