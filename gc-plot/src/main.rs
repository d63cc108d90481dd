//! The `gcplot` command line: arguments, input, output; see the crate docs.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use tricolor_plot::{parse, render_html, render_svg};

const USAGE: &str = "usage: gcplot [INPUT] [-o OUT.svg|OUT.html] [--title NAME]\n\
    Reads gctrace (GCDEBUG=gctrace=1) and gcpacer lines from INPUT or stdin\n\
    and writes one SVG (or, for a .html OUT, an HTML page) to OUT or stdout.";

struct Args {
    input: Option<String>,
    output: Option<String>,
    title: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        input: None,
        output: None,
        title: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "-o" | "--output" => args.output = Some(it.next().ok_or("-o needs a file name")?),
            "-t" | "--title" => args.title = Some(it.next().ok_or("--title needs a name")?),
            "-" => args.input = None,
            _ if a.starts_with('-') => return Err(format!("unknown option `{a}`")),
            _ if args.input.is_some() => return Err(format!("more than one input (`{a}`)")),
            _ => args.input = Some(a),
        }
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let reader: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?),
        None => Box::new(io::stdin()),
    };
    let name = args.input.as_deref().unwrap_or("stdin");
    let trace = parse(BufReader::new(reader)).map_err(|e| format!("{name}: {e}"))?;
    if trace.cycles.is_empty() {
        return Err(format!(
            "{name}: no gctrace lines found (run the program with GCDEBUG=gctrace=1 and keep its stderr)"
        ));
    }
    let title = args.title.as_deref().unwrap_or_else(|| {
        Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(name)
    });
    let html = args
        .output
        .as_deref()
        .is_some_and(|o| o.ends_with(".html") || o.ends_with(".htm"));
    let doc = if html {
        render_html(&trace, title)
    } else {
        render_svg(&trace, title)
    };
    match &args.output {
        Some(path) => std::fs::write(path, doc).map_err(|e| format!("cannot write {path}: {e}")),
        None => io::stdout()
            .write_all(doc.as_bytes())
            .map_err(|e| format!("cannot write stdout: {e}")),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gcplot: {e}");
            if e.starts_with("unknown option")
                || e.starts_with("more than one")
                || e.contains("needs a")
            {
                eprintln!("{USAGE}");
            }
            ExitCode::from(2)
        }
    }
}
