use super::*;

/// Runs `p` the way the kernel would for a SYN received on `cpu` when the random number is
/// `random`: just the instructions `program` emits.
fn run(p: &[sock_filter], cpu: u32, random: u32) -> u32 {
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let i = p[pc];
        let code = u32::from(i.code);
        pc += 1;
        match code {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                a = match i.k.wrapping_sub(libc::SKF_AD_OFF as u32) as i32 {
                    libc::SKF_AD_CPU => cpu,
                    libc::SKF_AD_RANDOM => random,
                    other => panic!("unexpected load {other}"),
                }
            }
            c if c == libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K => a %= i.k,
            c if c == libc::BPF_ALU | libc::BPF_ADD | libc::BPF_K => a += i.k,
            c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                pc += usize::from(if a == i.k { i.jt } else { i.jf })
            }
            c if c == libc::BPF_RET | libc::BPF_K => return i.k,
            c if c == libc::BPF_RET | libc::BPF_A => return a,
            other => panic!("unexpected instruction {other:#x}"),
        }
    }
}

fn targets(slot_of_worker: &[u32]) -> Vec<Target> {
    slot_of_worker
        .iter()
        .enumerate()
        .map(|(worker, &slot)| Target { slot, worker })
        .collect()
}

/// The slots a program returns for a SYN on `cpu`, over enough random numbers to see them all.
fn reachable(p: &[sock_filter], cpu: u32) -> Vec<u32> {
    let mut seen: Vec<u32> = (0..64).map(|r| run(p, cpu, r)).collect();
    seen.sort_unstable();
    seen.dedup();
    seen
}

#[test]
fn random_picks_every_slot_equally() {
    let p = program(Select::Random, &[0], &targets(&[0, 1, 2, 3])).unwrap();
    let mut counts = [0; 4];
    for r in 0..400 {
        counts[run(&p, 0, r) as usize] += 1;
    }
    assert_eq!(counts, [100; 4]);
}

#[test]
fn cpu_maps_each_cpu_to_its_workers_for_any_cpu_list() {
    // Workers 0..4 on CPUs 2 and 5 (worker k on cpus[k % 2]).
    let p = program(Select::Cpu, &[2, 5], &targets(&[0, 1, 2, 3])).unwrap();
    assert_eq!(reachable(&p, 2), [0, 2]);
    assert_eq!(reachable(&p, 5), [1, 3]);
    // A CPU with no worker: any of them.
    assert_eq!(reachable(&p, 0), [0, 1, 2, 3]);
    let one_each = program(Select::Cpu, &[3, 7], &targets(&[0, 1])).unwrap();
    assert_eq!((reachable(&one_each, 3), reachable(&one_each, 7)), (vec![0], vec![1]));
}

#[test]
fn a_replaced_worker_is_followed_to_its_new_slot() {
    // Worker 0 died: the last socket (worker 2's) moved into slot 0, and the replacement joined
    // at the end, slot 2.
    let moved = [
        Target { slot: 2, worker: 0 },
        Target { slot: 1, worker: 1 },
        Target { slot: 0, worker: 2 },
    ];
    let cpu = program(Select::Cpu, &[0, 1], &moved).unwrap();
    assert_eq!(reachable(&cpu, 0), [0, 2]);
    assert_eq!(reachable(&cpu, 1), [1]);
    // Slots apart: worker 1 of 3 is gone and slot 1 is a predecessor's, left out.
    let apart = [Target { slot: 0, worker: 0 }, Target { slot: 2, worker: 2 }];
    let random = program(Select::Random, &[0], &apart).unwrap();
    assert_eq!(reachable(&random, 0), [0, 2]);
    // Worker 1 of 2 gone: its CPU's SYNs go to anyone left.
    let gap = program(Select::Cpu, &[0, 1], &[Target { slot: 0, worker: 0 }]).unwrap();
    assert_eq!(reachable(&gap, 1), [0]);
}

#[test]
fn no_worker_means_the_kernels_hash() {
    let p = program(Select::Random, &[0], &[]).unwrap();
    assert_eq!(run(&p, 0, 0), u32::MAX);
}

#[test]
fn too_many_workers_on_one_cpu_are_refused() {
    let many: Vec<u32> = (0..300).collect();
    let err = program(Select::Cpu, &[0, 1], &targets(&many)).unwrap_err();
    assert!(err.to_string().contains("too many workers on CPU"), "{err}");
}
