//! Where the numbers came from: the machine, and how its cells were isolated.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub kernel: String,
    pub cpu_model: String,
    /// CPUs this process may run on.
    pub cpus: usize,
}

/// How cells are isolated here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "reason")]
pub enum Isolation {
    /// As root: fresh network and PID namespaces.
    Root,
    /// Without root: the same, owned by an unprivileged user namespace of the cell's own.
    UserNamespace,
    /// Neither could be made (the reason): cells run on the host's loopback.
    None(String),
}

impl Isolation {
    /// Whether cells get private namespaces.
    pub fn private(&self) -> bool {
        !matches!(self, Isolation::None(_))
    }

    /// Ok when cells get private namespaces, else why not (for `Strategy::unavailable`).
    pub fn available(&self) -> Result<(), &str> {
        match self {
            Isolation::None(why) => Err(why),
            _ => Ok(()),
        }
    }

    /// For people.
    pub fn describe(&self) -> String {
        match self {
            Isolation::Root => "private network and PID namespaces (root)".into(),
            Isolation::UserNamespace => {
                "private network and PID namespaces inside an unprivileged user namespace".into()
            }
            Isolation::None(why) => format!("none: cells run on the host's loopback ({why})"),
        }
    }
}

impl Default for Isolation {
    /// Results written before isolation was recorded: `isolated` says which of the two it was.
    fn default() -> Self {
        Isolation::None("not recorded".into())
    }
}

/// How the open loop's pacing threads were scheduled: at real-time priority (SCHED_FIFO 1, so
/// that other work on the client's CPUs could not delay their wake-ups), or at normal priority,
/// not asked for or refused (why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "reason")]
pub enum ClientPriority {
    Realtime,
    /// Not asked for (`load.client_realtime = false`, `lbbench load` without `--realtime`).
    Normal,
    Refused(String),
}

impl ClientPriority {
    /// For people.
    pub fn describe(&self) -> String {
        match self {
            ClientPriority::Realtime => "open-loop pacing threads at real-time priority (SCHED_FIFO 1)".into(),
            ClientPriority::Normal => "open-loop pacing threads at normal priority".into(),
            ClientPriority::Refused(why) => {
                format!("open-loop pacing threads at normal priority: real-time priority refused ({why})")
            }
        }
    }
}

/// Whether idle CPUs were kept out of deep idle states while the run measured (a 0 µs
/// `/dev/cpu_dma_latency` request, root only): the client's timers then fire on time, and the
/// server's CPUs wake at once too, as on a busy or latency-tuned machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "reason")]
pub enum CpusAwake {
    Held,
    /// Not asked for (the default; `--keep-cpus-awake` asks).
    Off,
    /// Asked for, and refused (why).
    Refused(String),
}

impl CpusAwake {
    /// For people.
    pub fn describe(&self) -> String {
        match self {
            CpusAwake::Held => "idle CPUs kept out of deep idle states (/dev/cpu_dma_latency = 0 µs) while measuring, \
                                the server's too"
                .into(),
            CpusAwake::Off => "idle CPUs left to their idle driver".into(),
            CpusAwake::Refused(why) => {
                format!("idle CPUs left to their idle driver: could not hold them awake ({why})")
            }
        }
    }
}
