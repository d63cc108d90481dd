//! Stall reports: a mutator that blocks outside `Mutator::blocking` while
//! another thread collects is named on stderr, and the program completes
//! once it returns.

use tricolor::Heap;

/// Runs in a child process (see `a_mutator_blocked_outside_blocking_is_reported`):
/// a thread holding a running mutator blocks on stdin while another thread
/// collects.
#[test]
fn stall_child() {
    if std::env::var("TRICOLOR_STALL_CHILD").is_err() {
        return;
    }
    let heap = Heap::new();
    let h = heap.clone();
    let stuck = std::thread::Builder::new()
        .name("stuck-mutator".into())
        .spawn(move || {
            let mut m = h.mutator();
            let (tx, rx) = std::sync::mpsc::channel();
            let h2 = h.clone();
            let collector = std::thread::spawn(move || {
                let mut c = h2.mutator();
                tx.send(()).unwrap();
                c.collect();
            });
            rx.recv().unwrap();
            // The bug under test: a blocking call outside `Mutator::blocking`.
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
            m.safepoint();
            m.blocking(|| collector.join().unwrap());
        })
        .unwrap();
    stuck.join().unwrap();
    println!("stall child completed");
}

#[test]
fn a_mutator_blocked_outside_blocking_is_reported() {
    use std::io::{BufRead, Write};
    use std::process::{Command, Stdio};

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stall_child", "--nocapture", "--test-threads=1"])
        .env("TRICOLOR_STALL_CHILD", "1")
        .env("GCDEBUG", "stallwarn=100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut report = Vec::new();
        for line in stderr.lines().map_while(Result::ok) {
            if line.starts_with("tricolor: stall:") {
                let last = line.contains("usual causes");
                report.push(line);
                if last {
                    let _ = tx.send(std::mem::take(&mut report));
                }
            }
        }
    });
    // The child waits on its stdin until the report arrived; the timeout
    // only keeps a broken build from hanging the test run.
    let report = rx.recv_timeout(std::time::Duration::from_secs(120));
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let report = report.expect("no stall report on the child's stderr");
    assert_eq!(report.len(), 3, "{report:#?}");
    assert!(
        report[0].contains(
            "to stop the world (sweep termination, cycle 1) for 1 mutator not at a safepoint"
        ),
        "{report:#?}"
    );
    assert!(
        report[1].contains("thread \"stuck-mutator\"")
            && report[1].contains(&format!("attached at {}:", file!())),
        "{report:#?}"
    );
    assert!(
        report[2].contains("outside Mutator::blocking"),
        "{report:#?}"
    );
    assert!(out.status.success(), "the child completes once it returns");
    assert!(String::from_utf8_lossy(&out.stdout).contains("stall child completed"));
}
