//! The contract every strategy keeps. The shared client pins its threads to every CPU in turn,
//! so each worker's CPU sends it connections.
testkit::strategy_contract!(env!("CARGO_BIN_EXE_reuseport-incoming-cpu"), &[], 2);
