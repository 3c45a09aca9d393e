use super::*;

#[test]
fn shipped_profiles_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            Config::parse(&text, &entry.path().display().to_string())
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
            n += 1;
        }
    }
    assert!(n >= 5, "every profile under configs/ is read");
}

#[test]
fn a_fault_across_hosts_is_refused_saying_why() {
    let hosts = "[hosts]\nserver = \"srv\"\nload = [\"gen1\"]\n";
    Config::parse(hosts, "x.toml").unwrap();
    let err = Config::parse(&format!("{hosts}[fault]\nkind = \"kill\"\nat = \"1s\"\n"), "x.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("[fault]") && err.contains("remove one of them"), "{err}");
}

#[test]
fn a_typo_names_file_line_and_the_allowed_keys() {
    let err = Config::parse("[load]\nconections = 8\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("x.toml"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("conections") && err.contains("`connections`"), "{err}");
    assert!(err.contains("did you mean `connections`?"), "{err}");
    let far = Config::parse("[load]\nbananas = 8\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(far.contains("`duration`") && !far.contains("did you mean"), "{far}");
}

#[test]
fn a_wrong_type_names_the_line_and_expected_type() {
    let err = Config::parse("[sweep]\ncores = \"two\"\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2") && err.contains("expected a sequence"), "{err}");
    let err = Config::parse("[sweep]\nworkloads = [\"open\"]\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown workload \"open\"") && err.contains("keepalive, close"),
        "{err}"
    );
}

#[test]
fn named_workloads_are_defined_checked_and_resolved() {
    let text = "[sweep]\nworkloads = [\"keepalive\", \"slow\"]\n[workloads.slow]\nconnection = \"close\"\nblock = \"bimodal:0.01:20ms\"\n";
    let c = Config::parse(text, "x.toml").unwrap();
    let slow = c.workload(&"slow".into()).unwrap();
    assert_eq!(slow.path(), "/?block=bimodal:0.01:20ms");
    assert!(!slow.keepalive());
    assert!(c.workload(&"keepalive".into()).unwrap().keepalive());
    let bad = text.replace("20ms", "20 ms");
    let err = Config::parse(&bad, "x.toml").unwrap_err().to_string();
    assert!(err.contains("workloads.slow.block"), "{err}");
    let typo = "[workloads.slow]\nconection = \"close\"\n";
    let err = Config::parse(typo, "x.toml").unwrap_err().to_string();
    assert!(err.contains("did you mean `connection`?"), "{err}");
}

#[test]
fn semantic_checks() {
    let err = Config::parse("[sweep]\ncores = []\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("sweep.cores"), "{err}");
    let c = Config::parse("[load]\nduration = \"3s\"\n", "x.toml").unwrap();
    assert_eq!(c.load.duration, Duration::from_secs(3));
    assert_eq!(c.sweep, SweepConfig::default());
}

#[test]
fn durations_no_run_can_honour_are_refused_naming_the_key() {
    let err = |text: &str| Config::parse(text, "x.toml").unwrap_err().to_string();
    assert!(err("[load]\nrequest_timeout = \"0s\"\n").contains("load.request_timeout must be positive"));
    assert!(err("[server]\nready_timeout = \"0s\"\n").contains("server.ready_timeout must be positive"));
    let long = err("[load]\nduration = \"100000000000h\"\n");
    assert!(
        long.contains("load.duration = ") && long.contains("longer than lbbench allows"),
        "{long}"
    );
    assert!(err("[load]\ninterval = \"1ms\"\n").contains("load.interval must be at least"));
    Config::parse("[load]\nwarmup = \"0s\"\n[server]\nstop_grace = \"0s\"\n", "x.toml").unwrap();
}

#[test]
fn smt_takes_one_thread_or_all_threads() {
    assert_eq!(SweepConfig::default().smt, Smt::OneThread);
    let c = Config::parse("[sweep]\nsmt = \"all-threads\"\n", "x.toml").unwrap();
    assert_eq!(c.sweep.smt, Smt::AllThreads);
    let err = Config::parse("[sweep]\nsmt = \"both\"\n", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("`one-thread`") && err.contains("`all-threads`"),
        "{err}"
    );
}

#[test]
fn hosts_are_strings_or_tables_and_checked() {
    let text = "[hosts]\nserver = \"root@srv\"\nload = [\"gen1\", { ssh = \"gen2\", cpus = \"1-2\", lbbench = \"/opt/lbbench\" }]\n";
    let c = Config::parse(text, "x.toml").unwrap();
    let h = c.hosts.unwrap();
    assert_eq!(h.server.ssh, "root@srv");
    assert_eq!(h.load[0].ssh, "gen1");
    assert_eq!(h.load[1].cpus.as_deref(), Some("1-2"));
    assert_eq!(h.load[1].lbbench.as_deref(), Some(std::path::Path::new("/opt/lbbench")));
    let typo = text.replace("cpus =", "cpu =");
    let err = Config::parse(&typo, "x.toml").unwrap_err().to_string();
    assert!(err.contains("unknown field `cpu`"), "{err}");
    let none = "[hosts]\nserver = \"srv\"\nload = []\n";
    let err = Config::parse(none, "x.toml").unwrap_err().to_string();
    assert!(err.contains("at least one load host"), "{err}");
    let repo = "[hosts]\nserver = \"srv\"\nload = [{ ssh = \"g\", repo = \"/r\" }]\n";
    let err = Config::parse(repo, "x.toml").unwrap_err().to_string();
    assert!(err.contains("server host only"), "{err}");
}

#[test]
fn rounds_are_auto_by_default_and_their_bounds_checked() {
    let c = Config::parse("", "x.toml").unwrap();
    assert_eq!((c.sweep.repeats, c.design()), (Repeats::Auto, Design::Alternate));
    let err = |t: &str| Config::parse(t, "x.toml").unwrap_err().to_string();
    assert!(err("[sweep]\nmin_repeats = 1\n").contains("at least 2 rounds"));
    assert!(err("[sweep]\nmin_repeats = 5\nmax_repeats = 4\n").contains("max_repeats must not be below"));
    assert!(err("[sweep]\nbudget = \"0s\"\n").contains("sweep.budget must be positive"));
    assert!(err("[verdict]\nconfidence = 1.5\n").contains("verdict.confidence = 1.5 must be in (0.5, 1)"));
    assert!(err("[noise]\nthreshold = 0\n").contains("noise.threshold = 0"));
    assert!(err("[load]\ncommon_rate = 2\n").contains("load.common_rate = 2"));
    // A fault changes the server it hits: every window gets a fresh start.
    let f = Config::parse(
        "[sweep]\ndesign = \"alternate\"\n[fault]\nkind = \"kill\"\nat = \"5s\"\n",
        "x.toml",
    )
    .unwrap();
    assert_eq!(f.design(), Design::Restart);
    let fixed = Config::parse("[sweep]\nrepeats = 4\nbudget = \"8m\"\n", "x.toml").unwrap();
    assert_eq!(fixed.sweep.repeats, Repeats::Fixed(4));
    assert_eq!(fixed.sweep.budget, Some(Duration::from_secs(480)));
}
