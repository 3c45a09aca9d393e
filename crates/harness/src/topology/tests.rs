//! Parsing and placement against sysfs trees of four machines (crates/harness/tests/fixtures/sysfs).

use super::*;
use model::config::{LoadConfig, Smt, SweepConfig};
use std::path::Path;

fn fixture(name: &str) -> Topology {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sysfs")
        .join(name);
    Topology::read(&root).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn sweep(cores: &[usize], smt: Smt) -> SweepConfig {
    SweepConfig {
        cores: cores.to_vec(),
        smt,
        ..SweepConfig::default()
    }
}

/// Places `cores` on the fixture `name`, with every online CPU allowed.
fn plan(name: &str, cores: &[usize], smt: Smt) -> Placement {
    let topology = fixture(name);
    let all: Vec<usize> = topology.cpus.iter().map(|c| c.cpu).collect();
    Placement::plan(topology, &all, &sweep(cores, smt)).unwrap()
}

/// The server's CPUs at each budget and the client's, exactly.
fn assert_placed(p: &Placement, servers: &[(usize, &[usize])], client: &[usize]) {
    for (n, cpus) in servers {
        assert_eq!(p.server(*n), Some(*cpus), "server at {n} cores");
    }
    assert_eq!(p.servers.len(), servers.len(), "{:?}", p.servers);
    assert_eq!(p.client(), client, "client");
}

fn shares_at(p: &Placement, n: usize) -> bool {
    p.notes()
        .iter()
        .any(|l| l.starts_with(&format!("at {} the server shares", place::cores(n))))
}

#[test]
fn the_development_vm_parses_as_two_cores_without_siblings() {
    let t = fixture("vm-2vcpu");
    let shape: Vec<_> = t
        .cpus
        .iter()
        .map(|c| (c.cpu, c.package, c.core, c.node, c.siblings.clone()))
        .collect();
    assert_eq!(shape, [(0, 0, 0, 0, vec![0]), (1, 0, 1, 0, vec![1])]);
    assert_eq!((t.cpus[0].governor.as_deref(), t.turbo), (None, None));
}

#[test]
fn the_development_vm_keeps_the_quick_profile_placement() {
    for smt in [Smt::OneThread, Smt::AllThreads] {
        let p = plan("vm-2vcpu", &[1, 2], smt);
        // The client keeps CPU 1 at 2 cores too, so it shares CPU 1 with the server there.
        assert_placed(&p, &[(1, &[0]), (2, &[0, 1])], &[1]);
        assert!(!shares_at(&p, 1) && shares_at(&p, 2), "{:?}", p.notes());
        assert_eq!(p.notes().len(), 1, "{:?}", p.notes());
        let r = p.record(&LoadConfig::default());
        assert_eq!(
            (r.cores, r.threads, r.threads_per_core, r.nodes, r.packages),
            (2, 2, 1, 1, 1)
        );
        assert_eq!(
            (r.client_threads, r.same_node, r.governor, r.turbo),
            (1, true, None, None)
        );
        assert!(!p.announce(&LoadConfig::default()).iter().any(|l| l.contains("WARNING")));
    }
    let p = plan("vm-2vcpu", &[2], Smt::OneThread);
    assert_placed(&p, &[(2, &[0, 1])], &[1]);
}

/// The client must not change along the x axis: today's per-cell split gave it CPU 1 at 1 core
/// and CPUs 0,1 at 2 cores.
#[test]
fn the_client_is_the_same_at_every_core_count() {
    for (name, cores) in [
        ("vm-2vcpu", &[1, 2][..]),
        ("desktop-4c8t", &[1, 2, 4]),
        ("smt-16t-adjacent", &[1, 2, 4, 8]),
        ("numa-2node", &[1, 2, 4, 8]),
    ] {
        let p = plan(name, cores, Smt::OneThread);
        for &n in cores {
            assert_eq!(p.cell(n).client, p.cell(cores[0]).client, "{name} at {n} cores");
        }
        assert_eq!(p.record(&LoadConfig::default()).client_threads, p.client().len());
    }
}

#[test]
fn a_sweep_larger_than_the_machine_is_refused_with_its_cores_listed() {
    let t = fixture("desktop-4c8t");
    let err = Placement::plan(t, &(0..8).collect::<Vec<_>>(), &sweep(&[1, 2, 4, 8], Smt::OneThread))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("up to 8 physical cores") && err.contains("may use 4"),
        "{err}"
    );
    assert!(
        err.contains("[0,4] [1,5] [2,6] [3,7]") && err.contains("at least 9"),
        "{err}"
    );
    let t = fixture("vm-2vcpu");
    assert!(Placement::plan(t, &[0, 1], &sweep(&[1, 2, 4, 8], Smt::OneThread)).is_err());
}

#[test]
fn a_desktop_with_siblings_four_apart() {
    let t = fixture("desktop-4c8t");
    assert_eq!(t.cpus[5].siblings, [1, 5]);
    assert_eq!(
        (t.cpus[5].core, t.cpus[5].governor.as_deref(), t.turbo),
        (1, Some("powersave"), Some(true))
    );

    let p = plan("desktop-4c8t", &[1, 2], Smt::OneThread);
    assert_placed(&p, &[(1, &[0]), (2, &[0, 1])], &[2, 3, 6, 7]);
    assert!(p.notes().is_empty(), "{:?}", p.notes());
    let p = plan("desktop-4c8t", &[1, 2], Smt::AllThreads);
    assert_placed(&p, &[(1, &[0, 4]), (2, &[0, 1, 4, 5])], &[2, 3, 6, 7]);
    // No free core at 4: the client keeps what 2 left free and shares there.
    let p = plan("desktop-4c8t", &[1, 2, 4], Smt::OneThread);
    assert_placed(&p, &[(1, &[0]), (2, &[0, 1]), (4, &[0, 1, 2, 3])], &[2, 3, 6, 7]);
    assert!(shares_at(&p, 4) && !shares_at(&p, 2));

    let r = p.record(&LoadConfig::default());
    assert_eq!((r.cores, r.threads, r.threads_per_core, r.nodes), (4, 8, 2, 1));
    assert_eq!((r.governor.as_deref(), r.turbo), (Some("powersave"), Some(true)));
    let lines = p.announce(&LoadConfig::default());
    assert!(
        lines.iter().any(|l| l.starts_with("WARNING") && l.contains("governor")),
        "{lines:?}"
    );
}

#[test]
fn a_machine_with_adjacent_siblings() {
    let t = fixture("smt-16t-adjacent");
    assert_eq!((t.cpus[3].siblings.clone(), t.cpus[3].core), (vec![2, 3], 1));
    assert_eq!(t.turbo, Some(true));

    let p = plan("smt-16t-adjacent", &[1, 2], Smt::OneThread);
    assert_placed(&p, &[(1, &[0]), (2, &[0, 2])], &(4..16).collect::<Vec<_>>());
    let p = plan("smt-16t-adjacent", &[1, 2, 4], Smt::OneThread);
    assert_placed(
        &p,
        &[(1, &[0]), (2, &[0, 2]), (4, &[0, 2, 4, 6])],
        &(8..16).collect::<Vec<_>>(),
    );
    let p = plan("smt-16t-adjacent", &[1, 2, 4], Smt::AllThreads);
    assert_placed(
        &p,
        &[(1, &[0, 1]), (2, &[0, 1, 2, 3]), (4, &(0..8).collect::<Vec<_>>())],
        &(8..16).collect::<Vec<_>>(),
    );
    assert!(p.notes().is_empty(), "{:?}", p.notes());
    // configs/large.toml on 8 cores: the 8-core point shares the client's 4 cores.
    let p = plan("smt-16t-adjacent", &[1, 2, 4, 8], Smt::OneThread);
    assert_placed(
        &p,
        &[
            (1, &[0]),
            (2, &[0, 2]),
            (4, &[0, 2, 4, 6]),
            (8, &[0, 2, 4, 6, 8, 10, 12, 14]),
        ],
        &(8..16).collect::<Vec<_>>(),
    );
    assert!(shares_at(&p, 8) && !shares_at(&p, 4), "{:?}", p.notes());
    let lines = p.announce(&LoadConfig::default());
    assert!(
        lines
            .iter()
            .any(|l| l == "CPU frequency: governor performance, turbo on"),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("WARNING")), "{lines:?}");
}

#[test]
fn two_numa_nodes() {
    let t = fixture("numa-2node");
    let c = &t.cpus[13];
    assert_eq!((c.package, c.core, c.node, c.siblings.clone()), (1, 1, 1, vec![5, 13]));
    assert_eq!(t.turbo, Some(false));

    // Node 0 has room for 2 server cores and a client: both stay there.
    let p = plan("numa-2node", &[1, 2], Smt::OneThread);
    assert_placed(&p, &[(1, &[0]), (2, &[0, 1])], &[2, 3, 10, 11]);
    assert!(p.same_node() && p.notes().is_empty(), "{:?}", p.notes());
    let cell = p.cell(2);
    assert_eq!(
        cell.server.iter().map(|c| (c.cpu, c.core, c.node)).collect::<Vec<_>>(),
        [(0, 0, 0), (1, 1, 0)]
    );
    assert!(cell.client.iter().all(|c| c.node == 0 && c.package == 0), "{cell:?}");

    // Four server cores fill node 0: the client goes to node 1, and the results say so.
    let p = plan("numa-2node", &[1, 2, 4], Smt::OneThread);
    assert_placed(
        &p,
        &[(1, &[0]), (2, &[0, 1]), (4, &[0, 1, 2, 3])],
        &[4, 5, 6, 7, 12, 13, 14, 15],
    );
    assert!(!p.same_node());
    assert_eq!(p.notes().len(), 1, "{:?}", p.notes());
    assert!(
        p.notes()[0].contains("client is on NUMA node 1, the server at 1, 2, 4 cores on node 0"),
        "{:?}",
        p.notes()
    );
    assert!(p.cell(4).client.iter().all(|c| c.node == 1));
    let r = p.record(&LoadConfig::default());
    assert_eq!(
        (r.cores, r.threads, r.threads_per_core, r.packages, r.nodes),
        (8, 16, 2, 2, 2)
    );

    // Eight cores: the server spans both nodes and shares node 1's cores with the client.
    let p = plan("numa-2node", &[1, 2, 4, 8], Smt::OneThread);
    assert_placed(
        &p,
        &[
            (1, &[0]),
            (2, &[0, 1]),
            (4, &[0, 1, 2, 3]),
            (8, &(0..8).collect::<Vec<_>>()),
        ],
        &[4, 5, 6, 7, 12, 13, 14, 15],
    );
    assert!(shares_at(&p, 8), "{:?}", p.notes());
    assert!(
        p.notes()
            .iter()
            .any(|n| n == "at 8 cores the server spans NUMA nodes 0,1"),
        "{:?}",
        p.notes()
    );
}

#[test]
fn only_cpus_in_the_affinity_mask_are_placed() {
    // As under `taskset -c 1-7` on the desktop: CPU 0 is not ours, its sibling 4 is.
    let p = Placement::plan(
        fixture("desktop-4c8t"),
        &[1, 2, 3, 4, 5, 6, 7],
        &sweep(&[1, 2], Smt::OneThread),
    )
    .unwrap();
    assert_placed(&p, &[(1, &[1]), (2, &[1, 2])], &[3, 4, 7]);
    // Under `taskset -c 0-3` every core has one thread of ours, whose siblings may run anything.
    let p = Placement::plan(fixture("desktop-4c8t"), &[0, 1, 2, 3], &sweep(&[1, 2], Smt::AllThreads)).unwrap();
    assert_placed(&p, &[(1, &[0]), (2, &[0, 1])], &[2, 3]);
    assert_eq!(p.record(&LoadConfig::default()).threads_per_core, 1);
    assert!(
        p.notes()
            .iter()
            .any(|n| n.contains("outside lbbench's CPU affinity (CPUs 4,5)")),
        "{:?}",
        p.notes()
    );
}

#[test]
fn a_tree_without_topology_files_is_flat() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cpu")).unwrap();
    std::fs::write(dir.path().join("cpu/online"), "0-2\n").unwrap();
    let t = Topology::read(dir.path()).unwrap();
    assert_eq!(t, Topology::flat(&[0, 1, 2]));
    std::fs::write(dir.path().join("cpu/online"), "zero\n").unwrap();
    let err = Topology::read(dir.path()).unwrap_err().to_string();
    assert!(err.contains("cpu/online") && err.contains("zero"), "{err}");
}
