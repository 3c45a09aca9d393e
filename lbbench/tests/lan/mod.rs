//! A LAN of test hosts on this machine, for the multi-host tests (as root): a network namespace
//! per host, joined by veth pairs to a bridge in the controller's namespace, addresses in the
//! benchmarking range 198.18.0.0/24 only inside those namespaces; in each host an `sshd` (Debian's
//! openssh-server) with a throw-away host key that accepts a key made for the test; and an ssh
//! config file naming the hosts. Dropping the LAN kills every process left in its namespaces, so
//! they vanish, also when a test fails.
#![allow(dead_code)]

use harness::netns::Netns;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Lan {
    pub dir: tempfile::TempDir,
    /// The controller's namespace, with the bridge.
    hub: Netns,
    pub hosts: Vec<TestHost>,
    pub ssh_config: PathBuf,
}

pub struct TestHost {
    pub name: String,
    pub addr: String,
    ns: Netns,
    sshd: Child,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

fn ns_path(ns: &Netns) -> String {
    format!("/proc/{}/fd/{}", std::process::id(), ns.fd().as_raw_fd())
}

/// The namespace's identity as /proc shows it (`net:[inode]`).
fn ns_id(ns: &Netns) -> PathBuf {
    std::fs::read_link(format!("/proc/self/fd/{}", ns.fd().as_raw_fd())).unwrap()
}

impl Lan {
    /// Hosts named `names`, each running sshd.
    pub fn new(names: &[&str]) -> Lan {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["id", "host_key"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key)));
        }
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();
        // sshd insists on its privilege separation directory; the service would make it.
        std::fs::create_dir_all("/run/sshd").unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port 22\nHostKey {0}/host_key\nAuthorizedKeysFile {0}/authorized_keys\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\n\
                 MaxSessions 100\nMaxStartups 100\nLogLevel ERROR\n",
                d.display()
            ),
        )
        .unwrap();
        let hub = Netns::new().unwrap();
        hub.run(|| {
            ip(&["link", "set", "lo", "up"]);
            ip(&["link", "add", "br0", "type", "bridge"]);
            ip(&["addr", "add", "198.18.0.1/24", "dev", "br0"]);
            ip(&["link", "set", "br0", "up"]);
            Ok(())
        })
        .unwrap();
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let (mut known, mut config) = (String::new(), String::new());
        let mut hosts = Vec::new();
        for (k, name) in names.iter().enumerate() {
            let ns = Netns::new().unwrap();
            let addr = format!("198.18.0.{}", k + 2);
            let path = ns_path(&ns);
            let port = format!("v{k}");
            hub.run(|| {
                ip(&[
                    "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &path,
                ]);
                ip(&["link", "set", &port, "master", "br0", "up"]);
                Ok(())
            })
            .unwrap();
            let sshd = ns
                .run(|| {
                    ip(&["link", "set", "lo", "up"]);
                    ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
                    ip(&["link", "set", "eth0", "up"]);
                    Ok(Command::new("/usr/sbin/sshd")
                        .args(["-D", "-e", "-f"])
                        .arg(d.join("sshd_config"))
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(std::fs::File::create(d.join(format!("sshd-{name}.log"))).unwrap())
                        .spawn()?)
                })
                .unwrap();
            known += &format!("{addr} {host_key}");
            config += &format!("Host {name}\n  HostName {addr}\n");
            hosts.push(TestHost {
                name: name.to_string(),
                addr,
                ns,
                sshd,
            });
        }
        std::fs::write(d.join("known_hosts"), known).unwrap();
        config += &format!(
            "Host *\n  User root\n  IdentityFile {0}/id\n  IdentitiesOnly yes\n  UserKnownHostsFile {0}/known_hosts\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n  LogLevel ERROR\n",
            d.display()
        );
        let ssh_config = d.join("ssh_config");
        std::fs::write(&ssh_config, config).unwrap();
        let lan = Lan {
            dir,
            hub,
            hosts,
            ssh_config,
        };
        for h in &lan.hosts {
            let addr: std::net::SocketAddr = format!("{}:22", h.addr).parse().unwrap();
            let up = lan
                .hub
                .run(|| {
                    Ok(testkit::wait_for(Duration::from_secs(10), || {
                        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                    }))
                })
                .unwrap();
            assert!(up, "sshd of {} never listened", h.name);
        }
        lan
    }

    /// `program` to run in the controller's namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let fd = self.hub.fd().as_raw_fd();
        // SAFETY: setns is one system call on a descriptor that stays open while `self` lives.
        unsafe {
            cmd.pre_exec(move || {
                nix::sched::setns(BorrowedFd::borrow_raw(fd), nix::sched::CloneFlags::CLONE_NEWNET)?;
                Ok(())
            });
        }
        cmd
    }

    pub fn host(&self, name: &str) -> &TestHost {
        self.hosts.iter().find(|h| h.name == name).unwrap()
    }

    /// Processes living in `name`'s namespace whose command line contains `word`.
    pub fn processes(&self, name: &str, word: &str) -> Vec<i32> {
        processes_in(&ns_id(&self.host(name).ns), word)
    }

    /// Every process in any host's namespace but the sshd listeners, with its command line.
    pub fn leftovers(&self) -> Vec<(i32, String)> {
        let listeners: Vec<i32> = self.hosts.iter().map(|h| h.sshd.id() as i32).collect();
        let ids: Vec<PathBuf> = self.hosts.iter().map(|h| ns_id(&h.ns)).collect();
        all_processes()
            .into_iter()
            .filter(|(pid, _, ns)| !listeners.contains(pid) && ids.contains(ns))
            .map(|(pid, cmd, _)| (pid, cmd))
            .filter(|(_, cmd)| !cmd.starts_with("sshd"))
            .collect()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn all_processes() -> Vec<(i32, String, PathBuf)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let ns = std::fs::read_link(e.path().join("ns/net")).ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            Some((pid, cmd.trim().to_string(), ns))
        })
        .collect()
}

fn processes_in(ns: &Path, word: &str) -> Vec<i32> {
    all_processes()
        .into_iter()
        .filter(|(_, cmd, n)| n == ns && cmd.contains(word))
        .map(|(pid, _, _)| pid)
        .collect()
}

impl Drop for Lan {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            let _ = h.sshd.kill();
            let _ = h.sshd.wait();
        }
        // Whatever is still in a host's namespace (a session, an agent) goes, by its pid.
        let ids: Vec<PathBuf> = self.hosts.iter().map(|h| ns_id(&h.ns)).collect();
        for (pid, _, ns) in all_processes() {
            if ids.contains(&ns) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}
