//! What the summary says about where the sweep ran.

use model::placement::{cpu_list, TopologyRecord};

/// The summary's placement section: the machine's shape, the client, the notes.
pub fn markdown(t: &TopologyRecord) -> String {
    let client: Vec<usize> = t.client_cpus.iter().map(|c| c.cpu).collect();
    let mut out = format!(
            "- {} physical cores × {} threads per core, {} NUMA node(s); sweep.smt = {}\n- client: {}, {} thread(s), in every cell\n",
            t.cores,
            t.threads_per_core,
            t.nodes,
            t.smt,
            cpu_list(&client),
            t.client_threads
        );
    for note in &t.notes {
        out += &format!("- {note}\n");
    }
    out
}
