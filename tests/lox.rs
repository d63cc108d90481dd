//! The Lox VM example (`examples/lox`) against the scripts in `tests/lox/`.
//!
//! Each `.lox` file states what running it must produce, in comments:
//! - `// expect: TEXT`: the next line of stdout (may follow code on a line);
//! - `// stderr: TEXT`: the next line of stderr (compile errors, runtime
//!   errors with their stack traces, usage messages);
//! - `// exit: N`: the exit status (0 when absent);
//! - `// args: A B ...`: run `lox A B ...` instead of `lox FILE`;
//! - `// mode: repl`: run `lox` with no argument and feed the script's lines
//!   on stdin, minus the lines that are only one of these directives.
//!
//! Stdout, stderr and the status must match exactly. Every script runs in
//! four collector modes, one test each: default settings,
//! `GCDEBUG=gcstress=1` (a full collection at every safepoint, i.e. every
//! call and loop iteration), `GCDEBUG=gccheckmark=1` (each mark verified
//! by a second, checking mark), and the latter with `GCPERCENT=1`, which
//! keeps concurrent cycles running beside the VM almost all the time. The binary is built once with
//! `cargo build --example lox` in the test's profile, or taken from
//! `LOX_BIN` if set.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A script that runs this long is reported as hung.
const TIMEOUT: Duration = Duration::from_secs(120);

fn lox_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("LOX_BIN") {
            return bin.into();
        }
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--example", "lox", "--message-format=json"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit());
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let out = cmd
            .output()
            .expect("cannot run cargo to build the lox example");
        assert!(out.status.success(), "cargo build --example lox failed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .filter(|l| l.contains(r#""reason":"compiler-artifact""#))
            .filter(|l| l.contains(r#""kind":["example"]"#) && l.contains(r#""name":"lox""#))
            .find_map(|l| {
                let rest = &l[l.find(r#""executable":""#)? + 14..];
                Some(PathBuf::from(&rest[..rest.find('"')?]))
            })
            .expect("cargo reported no executable for the lox example")
    })
}

/// What a script must produce.
#[derive(Default)]
struct Expected {
    stdout: String,
    stderr: String,
    exit: i32,
    args: Option<Vec<String>>,
    repl_input: Option<String>,
}

const DIRECTIVES: [&str; 5] = [
    "// expect: ",
    "// stderr: ",
    "// exit: ",
    "// args: ",
    "// mode: ",
];

fn parse(path: &Path, source: &str) -> Expected {
    let mut e = Expected::default();
    let mut repl = false;
    for line in source.lines() {
        for directive in DIRECTIVES {
            let Some(at) = line.find(directive) else {
                continue;
            };
            let text = &line[at + directive.len()..];
            match directive {
                "// expect: " => {
                    e.stdout.push_str(text);
                    e.stdout.push('\n');
                }
                "// stderr: " => {
                    e.stderr.push_str(text);
                    e.stderr.push('\n');
                }
                "// exit: " => {
                    e.exit = text
                        .trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("{}: bad exit code {text:?}", path.display()))
                }
                "// args: " => e.args = Some(text.split_whitespace().map(String::from).collect()),
                _ => {
                    assert_eq!(text.trim(), "repl", "{}: unknown mode", path.display());
                    repl = true;
                }
            }
        }
    }
    if repl {
        let input: String = source
            .lines()
            .filter(|l| {
                !DIRECTIVES
                    .iter()
                    .any(|d| l.trim_start().starts_with(d.trim_end()))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        e.repl_input = Some(input);
    }
    e
}

fn scripts() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("tests/lox is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "lox") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lox"),
        &mut out,
    );
    out.sort();
    out
}

struct Outcome {
    stdout: String,
    stderr: String,
    exit: Option<i32>,
}

fn run(script: &Path, e: &Expected, env: &[(&str, &str)]) -> Result<Outcome, String> {
    let mut cmd = Command::new(lox_binary());
    match (&e.args, &e.repl_input) {
        (Some(args), _) => {
            cmd.args(args);
        }
        (None, Some(_)) => {}
        (None, None) => {
            cmd.arg(script);
        }
    }
    // Hermetic: only the mode under test configures the collector.
    for var in ["GCDEBUG", "GCPERCENT", "GCMEMLIMIT", "LOX_GCSTATS"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.stdin(if e.repl_input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|err| format!("cannot start lox: {err}"))?;
    if let Some(input) = &e.repl_input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(input.as_bytes())
            .map_err(|err| format!("cannot feed stdin: {err}"))?;
    }
    // Read both pipes on threads so a chatty child cannot block on a full
    // pipe while we wait for it.
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("piped stdout")));
    let err = reader(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Outcome {
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        exit: status.code(),
    })
}

/// First differing line of two outputs, for the failure report.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    for line in 1.. {
        match (e.next(), a.next()) {
            (None, None) => return "(differ only in line endings)".to_string(),
            (x, y) if x == y => {}
            (x, y) => return format!("line {line}: expected {x:?}, got {y:?}"),
        }
    }
    unreachable!()
}

fn check_all(mode: &str, env: &[(&str, &str)]) {
    let scripts = scripts();
    assert!(scripts.len() > 100, "the Lox test scripts are missing");
    let mut failures = Vec::new();
    for script in &scripts {
        let name = script
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(script)
            .display()
            .to_string();
        let source = std::fs::read_to_string(script).expect("script is readable");
        let e = parse(script, &source);
        match run(script, &e, env) {
            Err(why) => failures.push(format!("{name}: {why}")),
            Ok(o) => {
                let mut problems = Vec::new();
                if o.stdout != e.stdout {
                    problems.push(format!("stdout {}", first_difference(&e.stdout, &o.stdout)));
                }
                if o.stderr != e.stderr {
                    problems.push(format!("stderr {}", first_difference(&e.stderr, &o.stderr)));
                }
                if o.exit != Some(e.exit) {
                    problems.push(format!("exit status {:?}, expected {}", o.exit, e.exit));
                }
                if !problems.is_empty() {
                    failures.push(format!("{name}: {}", problems.join("; ")));
                }
            }
        }
    }
    eprintln!(
        "lox [{mode}]: {} scripts, {} passed, {} failed",
        scripts.len(),
        scripts.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} Lox scripts failed in {mode} mode:\n{}",
        failures.len(),
        scripts.len(),
        failures.join("\n")
    );
}

#[test]
fn scripts_default_gc() {
    check_all("default", &[]);
}

#[test]
fn scripts_gcstress() {
    check_all("gcstress", &[("GCDEBUG", "gcstress=1")]);
}

#[test]
fn scripts_gccheckmark() {
    check_all("gccheckmark", &[("GCDEBUG", "gccheckmark=1")]);
}

/// Back-to-back concurrent cycles (a 1% growth goal starts the next cycle
/// almost at once) running beside the VM, so its stores go through the
/// write barrier while marking is on; each mark is verified.
#[test]
fn scripts_concurrent_gccheckmark() {
    check_all(
        "concurrent+gccheckmark",
        &[("GCDEBUG", "gccheckmark=1"), ("GCPERCENT", "1")],
    );
}
