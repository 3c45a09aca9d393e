testkit::strategy_contract!(env!("CARGO_BIN_EXE_cluster-rr"), &[], 2);
