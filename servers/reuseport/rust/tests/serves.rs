testkit::strategy_contract!(env!("CARGO_BIN_EXE_reuseport"), &[], 2);
