//! SPEC §13: the XML-RPC methods at `/RPC2`, judged by real clients:
//! Python's xmlrpc.client calling every process method (the script
//! tests/spec_13_rpc.py, run against sv and against a real supervisord
//! with the same programs, line by line), and the real `supervisorctl`
//! driving sv and supervisord through the same commands (outputs and exit
//! codes compared). The config and log methods are judged elsewhere.

mod common;

use common::python::venv_program;
use common::*;
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The instance of every daemon here (each test has its own runtime dir).
const N: u8 = 13;

/// The programs tests/spec_13_rpc.py expects.
const PROGRAMS: &str = "\
[program:web]
command=/bin/sleep 600
startsecs=0

[program:idle]
command=/bin/sleep 600
startsecs=0
autostart=false

[program:quick]
command=/bin/true
startsecs=1
startretries=1
autostart=false

[program:missing]
command=/nonexistent/program
autostart=false

[program:a]
command=/bin/sleep 600
startsecs=0

[program:b]
command=/bin/sleep 600
startsecs=0

[group:grp]
programs=a,b
";

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// The server sections (and what a real supervisord also needs), with
/// the unix socket in `dir`.
fn servers(dir: &Path, port: u16) -> String {
    format!(
        "[unix_http_server]\nfile={}/http.sock\n\n\
         [inet_http_server]\nport=127.0.0.1:{port}\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{}/http.sock\n\n",
        dir.display(),
        dir.display()
    )
}

/// An sv daemon serving `programs` over both servers.
struct Served {
    sv: Sv,
    port: u16,
}

impl Served {
    fn start(programs: &str) -> Served {
        let mut sv = Sv::new(N);
        let port = free_port();
        let conf = format!("{}{programs}", servers(sv.work.path(), port));
        let cmd = sv.config_daemon(&conf);
        sv.launch(cmd);
        let s = Served { sv, port };
        assert!(
            wait_until(10, || UnixStream::connect(s.sock()).is_ok()),
            "the unix http server never answered"
        );
        s
    }

    fn sock(&self) -> PathBuf {
        self.sv.work.path().join("http.sock")
    }

    fn unix_url(&self) -> String {
        format!("unix://{}", self.sock().display())
    }

    fn conf(&self) -> PathBuf {
        self.sv.work.path().join("sv.conf")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(daemon_err(&self.sv)).unwrap_or_default()
    }
}

/// A real supervisord from the venv on the same programs; killed (its
/// recorded pid, SIGTERM) when dropped.
struct Real {
    child: Child,
    dir: TempDir,
}

impl Real {
    fn start(programs: &str) -> Option<Real> {
        let bin = venv_program("supervisord")?;
        let dir = TempDir::new("supervisord");
        let port = free_port();
        let d = dir.path().display();
        let conf = format!(
            "[supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\n\
             pidfile={d}/supervisord.pid\nchildlogdir={d}\n\n{}{programs}",
            servers(dir.path(), port)
        );
        std::fs::write(dir.path().join("supervisord.conf"), conf).unwrap();
        let child = Command::new(bin)
            .arg("-c")
            .arg(dir.path().join("supervisord.conf"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn supervisord");
        let real = Real { child, dir };
        assert!(
            wait_until(20, || UnixStream::connect(real.sock()).is_ok()),
            "supervisord never answered"
        );
        Some(real)
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("http.sock")
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("supervisord.conf")
    }
}

impl Drop for Real {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            kill(self.child.id() as i32, libc::SIGTERM);
            wait_exit(&mut self.child, 30);
        }
    }
}

/// tests/spec_13_rpc.py against `url`: its lines.
fn judge(python: &Path, url: &str) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec_13_rpc.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(url).stdin(Stdio::null());
    let r = run_within(cmd, 120).expect("the judge did not finish in 120 s");
    assert_eq!(r.code, 0, "the judge failed: {r:?}");
    r.stdout.lines().map(str::to_string).collect()
}

/// `supervisorctl -c CONF ARGS...`: its output and exit code.
fn ctl(bin: &Path, conf: &Path, args: &str) -> (String, i32) {
    let mut cmd = Command::new(bin);
    cmd.arg("-c")
        .arg(conf)
        .args(args.split_whitespace())
        .stdin(Stdio::null());
    let r = run_within(cmd, 60).unwrap_or_else(|| panic!("supervisorctl {args}: no end in 60 s"));
    (format!("{}{}", r.stdout, r.stderr), r.code)
}

/// Output with what differs from run to run made constant: pids, uptimes,
/// stop times (`07:12`: two runs may fall either side of a minute).
fn normalize(out: &str) -> String {
    out.lines()
        .map(|l| {
            let words: Vec<String> = l
                .split(' ')
                .map(|w| {
                    let digits = w.trim_end_matches(',');
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        w.replace(digits, "N")
                    } else if w.len() >= 4
                        && w.contains(':')
                        && w.bytes().all(|b| b.is_ascii_digit() || b == b':')
                    {
                        "T".to_string()
                    } else {
                        w.to_string()
                    }
                })
                .collect();
            words.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines sorted within each run of the same outcome (`grp:a: stopped`,
/// `grp:b: stopped`): supervisord lists a group's processes in the order
/// they finished, which races (a group stop of two gave b, a one run in a
/// few); sv lists them in the group's order.
fn by_runs(out: &str) -> String {
    let mut lines: Vec<&str> = out.lines().collect();
    let outcome = |l: &str| l.rsplit(' ').next().unwrap_or("").to_string();
    let mut start = 0;
    while start < lines.len() {
        let end = (start..lines.len())
            .find(|&i| outcome(lines[i]) != outcome(lines[start]))
            .unwrap_or(lines.len());
        lines[start..end].sort_unstable();
        start = end;
    }
    lines.join("\n")
}

// ------------------------------------------------------------ the methods

/// The lines of tests/spec_13_rpc.py that sv must give (the real
/// supervisord gives them too: see the next test).
const EXPECTED: &[&str] = &[
    "listMethods has every process method: True",
    "methodSignature supervisor.startProcess: ['boolean', 'string', 'boolean']",
    "methodSignature supervisor.getAllProcessInfo: ['array']",
    "methodHelp of nothing: fault 4 SIGNATURE_UNSUPPORTED",
    "getAPIVersion: '3.0'",
    "getVersion: '3.0'",
    "getIdentification: 'supervisor'",
    "getState: {'statecode': 1, 'statename': 'RUNNING'}",
    "getAPIVersion(1): fault 2 INCORRECT_PARAMETERS",
    "execve: fault 1 UNKNOWN_METHOD",
    "private method: fault 1 UNKNOWN_METHOD",
    "getProcessInfo web: description,exitstatus,group,logfile,name,now,pid,spawnerr,start,state,statename,stderr_logfile,stdout_logfile,stop",
    "web state: 20 RUNNING group web name web",
    "web description: True",
    "web times: True",
    "idle: 0 STOPPED 'Not started' start 0 pid 0",
    "grp:a: group grp name a",
    "getProcessInfo a (in grp): fault 10 BAD_NAME: a",
    "getProcessInfo grp:*: fault 10 BAD_NAME: grp:*",
    "getAllProcessInfo: grp:a grp:b idle:idle missing:missing quick:quick web:web",
    "startProcess web (running): fault 60 ALREADY_STARTED: web",
    "stopProcess idle (stopped): fault 70 NOT_RUNNING: idle",
    "startProcess idle: True",
    "idle after start: RUNNING",
    "stopProcess idle: True",
    "idle after stop: STOPPED, description is its stop time: True, stop >= start: True",
    "startProcess missing: fault 20 NO_FILE: can't find command '/nonexistent/program'",
    "startProcess quick: fault 50 SPAWN_ERROR: quick",
    "stopProcessGroup grp: grp/a=80 grp/b=80",
    "stopProcessGroup grp again: ",
    "startProcessGroup nothing: fault 10 BAD_NAME: nothing",
    "startProcess grp:*: grp/a=80 grp/b=80",
    "signalProcess web NOSUCH: fault 11 BAD_SIGNAL: NOSUCH",
    "signalProcess idle CONT (stopped): fault 70 NOT_RUNNING: idle",
    "signalProcessGroup grp NOSUCH: grp/a=11 grp/b=11",
    "signalAllProcesses CONT: grp/a=80 grp/b=80 web/web=80",
    "sendProcessStdin idle (stopped): fault 70 NOT_RUNNING: idle",
    "sendRemoteCommEvent: True",
    "multicall: ['3.0', 10, 2, 2, 1, 2, 'RUNNING']",
    "multicall startProcess idle: [True, 60]",
    "stopAllProcesses: grp/a=80 grp/b=80 idle/idle=80 web/web=80",
    "startAllProcesses: grp/a=80 grp/b=80 idle/idle=80 missing/missing=20 web/web=80",
];

#[test]
fn every_process_method_answers_with_supervisords_values_and_faults() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let mut s = Served::start(PROGRAMS);
    let got = judge(&python, &s.unix_url());
    for want in EXPECTED {
        assert!(
            got.iter().any(|l| l == want),
            "missing {want:?} in:\n{}",
            got.join("\n")
        );
    }
    // Calls are logged like control requests, with what they asked.
    let log = s.log();
    assert!(
        log.contains("request: xml-rpc supervisor.startProcess(\"idle\")"),
        "{log}"
    );
    assert!(
        log.contains("answer: supervisor.startProcess: fault ALREADY_STARTED: web"),
        "{log}"
    );
    assert!(
        log.contains("remote communication event of type type"),
        "{log}"
    );
    s.sv.close();
}

#[test]
fn a_real_supervisord_gives_the_same_answers() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let Some(real) = Real::start(PROGRAMS) else {
        return;
    };
    let theirs = judge(&python, &format!("unix://{}", real.sock().display()));
    drop(real);
    let mut s = Served::start(PROGRAMS);
    let ours = judge(&python, &format!("http://127.0.0.1:{}", s.port));
    s.sv.close();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "ours:\n{}\ntheirs:\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
    for (o, t) in ours.iter().zip(&theirs) {
        // supervisord answers a program that gives up while it waits
        // with SPAWN_ERROR or ABNORMAL_TERMINATION, as its timing falls.
        if o.starts_with("startProcess quick:") {
            continue;
        }
        assert_eq!(
            o,
            t,
            "ours:\n{}\ntheirs:\n{}",
            ours.join("\n"),
            theirs.join("\n")
        );
    }
}

/// 10,000 programs: the answer (12 MB) is more than the HTTP server's
/// 4 MiB of unread output, and still goes out whole, in one piece.
#[test]
fn get_all_process_info_of_10000_programs_is_one_answer_and_a_multicall_too() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let mut programs = String::from("[program:web]\ncommand=/bin/sleep 600\nstartsecs=0\n\n");
    for i in 0..9999 {
        programs.push_str(&format!(
            "[program:p{i:04}]\ncommand=/bin/sleep 600\nautostart=false\n\n"
        ));
    }
    let mut s = Served::start(&programs);
    let script = format!(
        "import xmlrpc.client, time\n\
         p = xmlrpc.client.ServerProxy('http://127.0.0.1:{}/RPC2')\n\
         infos = p.supervisor.getAllProcessInfo()\n\
         print(len(infos), infos[0]['name'], infos[-1]['name'], sorted(x['name'] for x in infos) == [x['name'] for x in infos])\n\
         print(sum(1 for x in infos if x['statename'] == 'STOPPED' and x['description'] == 'Not started'))\n\
         calls = [{{'methodName': 'supervisor.getProcessInfo', 'params': ['p%04d' % i]}} for i in range(199)]\n\
         r = p.system.multicall(calls)\n\
         print(len(r), all(isinstance(x, dict) and x['name'] == 'p%04d' % i for i, x in enumerate(r)))\n",
        s.port
    );
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(script).stdin(Stdio::null());
    let r = run_within(cmd, 60).expect("python did not finish");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "10000 p0000 web True\n9999\n199 True\n", "{r:?}");
    s.sv.close();
}

#[test]
fn shutdown_answers_true_then_the_daemon_stops_everything_and_exits() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let mut s = Served::start(PROGRAMS);
    s.sv.wait_state("web", "RUNNING", 10);
    let web = s.sv.pid("web").expect("web's pid");
    let script = format!(
        "import xmlrpc.client\n\
         p = xmlrpc.client.ServerProxy('http://127.0.0.1:{}/RPC2')\n\
         print(p.supervisor.shutdown())\n\
         try:\n\
         \x20   p.supervisor.getState()\n\
         \x20   print('still answers')\n\
         except xmlrpc.client.Fault as f:\n\
         \x20   print(f.faultString)\n\
         except OSError:\n\
         \x20   print('gone')\n",
        s.port
    );
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(script).stdin(Stdio::null());
    let r = run_within(cmd, 60).expect("python did not finish");
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "True", "{r:?}");
    // Shutting down, or already gone: never serving as usual.
    assert!(lines[1] == "SHUTDOWN_STATE" || lines[1] == "gone", "{r:?}");
    let child = s.sv.child.as_mut().expect("the daemon");
    let status = wait_exit(child, 30);
    assert!(status.success(), "{status:?}");
    assert!(!alive(web), "web outlived the daemon");
    assert!(!s.sock().exists(), "the http socket is left behind");
}

#[test]
fn restart_rereads_the_config_keeping_unchanged_programs_running() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let mut s = Served::start(PROGRAMS);
    s.sv.wait_state("web", "RUNNING", 10);
    s.sv.wait_state("grp:a", "RUNNING", 10);
    let web = s.sv.pid("web").expect("web's pid");
    let a = s.sv.pid("grp:a").expect("a's pid");
    // a changes; web does not.
    let conf = std::fs::read_to_string(s.conf()).unwrap();
    let conf = conf.replace(
        "[program:a]\ncommand=/bin/sleep 600",
        "[program:a]\ncommand=/bin/sleep 601",
    );
    std::fs::write(s.conf(), conf).unwrap();
    let script = format!(
        "import xmlrpc.client\n\
         p = xmlrpc.client.ServerProxy('http://127.0.0.1:{}/RPC2')\n\
         print(p.supervisor.restart())\n",
        s.port
    );
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(&script).stdin(Stdio::null());
    let r = run_within(cmd, 60).expect("python did not finish");
    assert_eq!(r.stdout, "True\n", "{r:?}");
    assert!(
        wait_until(10, || s.sv.pid("grp:a").is_some_and(|p| p != a)),
        "the changed program was not restarted"
    );
    assert_eq!(
        s.sv.pid("web"),
        Some(web),
        "an unchanged program was restarted"
    );
    // A config with an error changes nothing and says why.
    std::fs::write(s.conf(), "[program:x]\nnocommand=1\n").unwrap();
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(&script).stdin(Stdio::null());
    let r = run_within(cmd, 60).expect("python did not finish");
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Fault 92: "), "{r:?}");
    assert!(r.stderr.contains("CANT_REREAD: "), "{r:?}");
    assert!(r.stderr.contains("has no command"), "{r:?}");
    assert_eq!(s.sv.pid("web"), Some(web));
    s.sv.close();
}

// ---------------------------------------------------------- supervisorctl

/// Commands run in order against each daemon.
const CTL: &[&str] = &[
    "status",
    "status web",
    "status nothing",
    "status grp:*",
    "start web",
    "start idle",
    "status idle",
    "stop idle",
    "stop idle",
    "start nothing",
    "start missing",
    "restart web",
    "stop grp:*",
    "start grp:*",
    "restart grp:*",
    "signal CONT web",
    "signal NOSUCH web",
    "signal CONT idle",
    "signal CONT grp:*",
    "signal CONT all",
    "pid web",
    "pid idle",
    "stop all",
    "status",
    "start all",
    "pid",
];

#[test]
fn supervisorctl_gives_the_same_output_and_exit_codes_with_sv_as_with_supervisord() {
    let Some(bin) = venv_program("supervisorctl") else {
        return;
    };
    // No `quick`: how long its retries take differs by design.
    let programs = PROGRAMS.replace(
        "[program:quick]\ncommand=/bin/true\nstartsecs=1\nstartretries=1\nautostart=false\n",
        "",
    );
    let Some(real) = Real::start(&programs) else {
        return;
    };
    assert!(wait_until(10, || ctl(&bin, &real.conf(), "status web")
        .0
        .contains("RUNNING")));
    let theirs: Vec<(String, i32)> = CTL.iter().map(|c| ctl(&bin, &real.conf(), c)).collect();
    drop(real);
    let mut s = Served::start(&programs);
    s.sv.wait_state("web", "RUNNING", 10);
    let ours: Vec<(String, i32)> = CTL.iter().map(|c| ctl(&bin, &s.conf(), c)).collect();
    for ((cmd, o), t) in CTL.iter().zip(&ours).zip(&theirs) {
        assert_eq!(
            (by_runs(&normalize(&o.0)), o.1),
            (by_runs(&normalize(&t.0)), t.1),
            "supervisorctl {cmd}: ours, then theirs"
        );
    }
    // The pid is sv's, and version prints sv's.
    let pid = s.sv.child.as_ref().expect("daemon").id();
    assert_eq!(ctl(&bin, &s.conf(), "pid"), (format!("{pid}\n"), 0));
    assert_eq!(
        ctl(&bin, &s.conf(), "version"),
        (format!("{}\n", env!("CARGO_PKG_VERSION")), 0)
    );
    // reload keeps sv's meaning: the programs keep running.
    let web = s.sv.pid("web");
    assert_eq!(
        ctl(&bin, &s.conf(), "reload"),
        ("Restarted supervisord\n".to_string(), 0)
    );
    assert_eq!(s.sv.pid("web"), web);
    // shutdown: "Shut down", and the daemon is gone.
    assert_eq!(
        ctl(&bin, &s.conf(), "shutdown"),
        ("Shut down\n".to_string(), 0)
    );
    let child = s.sv.child.as_mut().expect("the daemon");
    assert!(wait_exit(child, 30).success());
}

#[test]
fn supervisorctl_status_shows_svs_states_as_supervisords() {
    let Some(bin) = venv_program("supervisorctl") else {
        return;
    };
    let programs = "\
[program:later]
command=/bin/sleep 600
autostart=false

[program:web]
command=/bin/sleep 600
startsecs=0
";
    let mut s = Served::start(programs);
    s.sv.wait_state("web", "RUNNING", 10);
    // PENDING shows as BACKOFF with sv's detail; SUSPENDED as RUNNING.
    let r = s.sv.sv(&["signal", "STOP", "web"]);
    assert_eq!(r.code, 0, "{r:?}");
    s.sv.wait_state("web", "SUSPENDED", 10);
    let mut cmd = s.sv.command();
    cmd.args([
        "create-service",
        "-c",
        "300",
        "--name",
        "soon",
        "/bin/sleep",
        "600",
    ])
    .args(["-i", &N.to_string()]);
    let r = run_within(cmd, 30).expect("create-service");
    assert_eq!(r.code, 0, "{r:?}");
    let (out, code) = ctl(&bin, &s.conf(), "status");
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(code, 3, "a process is not running: {out}");
    assert_eq!(lines[0], "later STOPPED Not started", "{out}");
    assert!(lines[1].starts_with("soon BACKOFF starts in "), "{out}");
    let web = s.sv.pid("web").expect("web's pid");
    assert!(
        lines[2].starts_with(&format!("web RUNNING pid {web}, uptime 0:00:"))
            && lines[2].ends_with("(suspended)"),
        "{out}"
    );
    let r = s.sv.sv(&["signal", "CONT", "web"]);
    assert_eq!(r.code, 0, "{r:?}");
    s.sv.close();
}

#[test]
fn a_body_that_is_not_xmlrpc_is_a_fault_and_the_connection_serves_on() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let mut s = Served::start(PROGRAMS);
    let script = format!(
        "import http.client, xmlrpc.client\n\
         c = http.client.HTTPConnection('127.0.0.1', {})\n\
         for body in [b'<methodCall><methodName>x', b'not xml at all', b'<?xml version=\"1.0\"?><methodCall><methodName>supervisor.getAPIVersion</methodName></methodCall>']:\n\
         \x20   c.request('POST', '/RPC2', body, {{'Content-Type': 'text/xml'}})\n\
         \x20   r = c.getresponse()\n\
         \x20   try:\n\
         \x20       print(r.status, xmlrpc.client.loads(r.read())[0][0])\n\
         \x20   except xmlrpc.client.Fault as f:\n\
         \x20       print(r.status, f.faultCode)\n",
        s.port
    );
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(script).stdin(Stdio::null());
    let r = run_within(cmd, 60).expect("python did not finish");
    assert_eq!(r.stdout, "200 -32700\n200 -32700\n200 3.0\n", "{r:?}");
    // Parameters of the wrong type are faults too, never a stalled loop.
    let script = format!(
        "import xmlrpc.client\n\
         p = xmlrpc.client.ServerProxy('http://127.0.0.1:{}/RPC2')\n\
         for call in [lambda: p.supervisor.startProcess(123), lambda: p.system.multicall('x'),\n\
         \x20            lambda: p.supervisor.signalProcess('web', [1]), lambda: p.supervisor.startProcess('web', 'maybe'),\n\
         \x20            lambda: p.system.multicall([{{'methodName': 'supervisor.getPID', 'params': 'x'}}])]:\n\
         \x20   try:\n\
         \x20       print(call())\n\
         \x20   except xmlrpc.client.Fault as f:\n\
         \x20       print(f.faultCode)\n\
         print(p.supervisor.getState()['statename'])\n",
        s.port
    );
    let mut cmd = Command::new(&python);
    cmd.arg("-c").arg(script).stdin(Stdio::null());
    let r = run_within(cmd, 60).expect("python did not finish");
    assert_eq!(
        r.stdout,
        "2\n2\n2\n2\n[{'faultCode': 2, 'faultString': 'INCORRECT_PARAMETERS: params must be an array'}]\nRUNNING\n",
        "{r:?}"
    );
    assert!(
        s.log()
            .contains("XML-RPC request refused: bad XML-RPC at byte"),
        "{}",
        s.log()
    );
    s.sv.close();
}
