//! Arbitrary bytes through the results-file reader (`lbbench plot` and `lbbench compare` read
//! files people share, so a results file is untrusted input). It may not panic, loop or allocate
//! what a file declares without holding it (libFuzzer's -rss_limit_mb catches that), and
//! results it accepts must write out and read back as the same results.
#![no_main]

use model::read::{parse, Accept};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(results) = parse(data, "fuzz", Accept::CurrentOrOlder) else {
        return;
    };
    let again = serde_json::to_vec(&results).expect("accepted results serialize");
    let back = parse(&again, "fuzz", Accept::CurrentOrOlder).expect("written results read back");
    assert_eq!(back, results, "results changed in a round trip");
});
