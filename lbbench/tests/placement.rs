//! Placement on the real machine: the quick profile's server and client CPUs read from this
//! machine's sysfs. A 2-vCPU VM without SMT siblings (the development machine) keeps today's
//! split: server CPU 0 at 1 core, CPUs 0,1 at 2 cores, the client on CPU 1 throughout.

mod common;

use harness::topology::{Placement, Topology, SYSFS};
use model::config::Config;
use testkit::{trial, Needs};

fn main() {
    let needs = Needs {
        cpus: 2,
        ..Needs::NOTHING
    };
    testkit::run_trials(vec![trial(
        "the_quick_profile_is_placed_on_whole_cores_of_this_machine",
        needs,
        quick_profile_here,
    )]);
}

fn quick_profile_here() {
    let path = common::workspace().join("configs/quick.toml");
    let quick = Config::parse(&std::fs::read_to_string(&path).unwrap(), "quick.toml").unwrap();
    assert_eq!(quick.sweep.cores, [1, 2], "this test reads the quick profile's cores");
    let allowed = lbproc::cpus::allowed();
    let topology = Topology::read(SYSFS.as_ref()).unwrap();
    let placement = Placement::detect(&quick.sweep).unwrap();
    let client = placement.client();
    for n in [1, 2] {
        let server = placement.server(n).unwrap();
        // N whole cores: N CPUs (one thread each by default), no two of them siblings.
        assert_eq!(server.len(), n, "{server:?}");
        for &cpu in server {
            assert!(
                allowed.contains(&cpu),
                "CPU {cpu} is outside the affinity mask {allowed:?}"
            );
            let siblings = &topology.cpu(cpu).unwrap().siblings;
            assert!(
                !server.iter().any(|o| *o != cpu && siblings.contains(o)),
                "{server:?} shares a core"
            );
        }
    }
    let one = placement.server(1).unwrap();
    let core_of_one = &topology.cpu(one[0]).unwrap().siblings;
    assert!(
        !client.iter().any(|c| core_of_one.contains(c)),
        "the 1-core server shares its core with {client:?}"
    );
    let no_siblings = allowed.iter().all(|&c| {
        let siblings = &topology.cpu(c).unwrap().siblings;
        siblings.iter().all(|s| *s == c || !allowed.contains(s))
    });
    let one_node = allowed
        .iter()
        .all(|&c| topology.cpu(c).unwrap().node == topology.cpu(allowed[0]).unwrap().node);
    let flat = no_siblings && one_node;
    if flat {
        // No siblings on one node: the server gets the first N CPUs as before, the client the CPUs
        // after the largest server, or after the 1-core server when none is left.
        assert_eq!(placement.server(1).unwrap(), &allowed[..1]);
        assert_eq!(placement.server(2).unwrap(), &allowed[..2]);
        let expected = if allowed.len() > 2 {
            &allowed[2..]
        } else {
            &allowed[1..]
        };
        assert_eq!(client, expected);
    }
}
