testkit::strategy_contract!(env!("CARGO_BIN_EXE_shared-socket"), &[], 2);
