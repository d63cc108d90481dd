//! `lox`: a bytecode virtual machine for the Lox language of Robert
//! Nystrom's "Crafting Interpreters", with clox's semantics, output and error
//! messages, whose objects live in the tricolor garbage-collected heap.
//!
//! `lox FILE` runs a script (exit 65 on a compile error, 70 on a runtime
//! error, 74 if the file cannot be read); `lox` alone is a REPL reading
//! lines from stdin; more arguments are a usage error (64).
//!
//! The collector is configured from the environment as usual (`GCPERCENT`,
//! `GCMEMLIMIT`, `GCDEBUG`, e.g. `GCDEBUG=gcstress=1` to collect at every
//! safepoint). `LOX_GCSTATS=1` prints the collector's figures to stderr at
//! exit.
//!
//! Files: `scanner.rs` (tokens), `compiler.rs` (Pratt parser and code
//! generation), `chunk.rs` (instruction set), `value.rs` (values on the
//! Rust side and in the heap), `object.rs` (heap objects), `strings.rs`
//! (interning), `globals.rs` (global variable slots), `vm/` (the
//! interpreter: `mod.rs` its root and entry points, `dispatch.rs` the
//! loop, `calls.rs`, `upvalues.rs` and `classes.rs` the instructions by
//! concern). Hash tables in the heap (fields, methods) are the library's
//! `GcMap`; arrays grow with `GcArray::resized`.

mod chunk;
mod compiler;
mod globals;
mod object;
mod scanner;
mod shape;
mod strings;
mod value;
mod vm;

use std::io::{self, BufRead, Write};
use std::time::Instant;

use tricolor::{Heap, Mutator};

use vm::{InterpretResult, Vm};

fn main() {
    let start = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let heap = Heap::new();
    let mut m = heap.mutator();
    let mut vm = Vm::new(&m);
    let code = match args.len() {
        1 => {
            repl(&mut vm, &mut m);
            0
        }
        2 => run_file(&mut vm, &mut m, &args[1]),
        _ => {
            eprintln!("Usage: lox [path]");
            64
        }
    };
    if std::env::var_os("LOX_GCSTATS").is_some_and(|v| v == "1") {
        report(&heap, start);
    }
    std::process::exit(code);
}

fn repl(vm: &mut Vm, m: &mut Mutator) {
    let stdin = io::stdin();
    loop {
        print!("> ");
        let _ = io::stdout().flush();
        let mut line = String::new();
        // Waiting for input blocks: let collections run without this thread.
        match m.blocking(|| stdin.lock().read_line(&mut line)) {
            Ok(0) | Err(_) => {
                println!();
                return;
            }
            Ok(_) => {
                vm.interpret(m, &line);
            }
        }
    }
}

fn run_file(vm: &mut Vm, m: &mut Mutator, path: &str) -> i32 {
    let source = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => {
            eprintln!("Could not open file \"{path}\".");
            return 74;
        }
    };
    match vm.interpret(m, &source) {
        InterpretResult::Ok => 0,
        InterpretResult::CompileError => 65,
        InterpretResult::RuntimeError => 70,
    }
}

/// The collector's figures for the whole run, on one stderr line.
fn report(heap: &Heap, start: Instant) {
    let s = heap.stats();
    let mut pauses = s.pauses.clone();
    pauses.sort();
    let median = pauses.get(pauses.len() / 2).copied().unwrap_or_default();
    eprintln!(
        "lox gc: time {:.3} s, {} GC cycles, max pause {:.3} ms, median pause {:.3} ms, \
         total pause {:.1} ms, GC CPU {:.1}%, peak committed {} MiB",
        start.elapsed().as_secs_f64(),
        s.num_gc,
        s.pause_max.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        s.pause_total.as_secs_f64() * 1e3,
        s.gc_cpu_fraction * 100.0,
        s.heap_committed >> 20,
    );
}
