//! A small Lisp written the way a user of the library would write one, and
//! run clean under `gcstress`, `gccheckmark` and `GCPERCENT=1`.
//!
//! Everything lives in the heap through the library's safe API, with no
//! `unsafe`: derived `Trace` types, objects built in one expression with
//! their pointer fields (`gc.into()`), environments as identity-keyed
//! `GcMap`s (symbols are interned), a symbol table and user tables keyed
//! by string contents (`ByContent`), vectors as `GcVec`s, and strings as
//! `GcStr`s. The evaluator is a recursive Rust function that reaches a
//! safepoint at every evaluation; whatever it must keep across one lives
//! on a shadow stack, a `GcVec` in the rooted interpreter object, and is
//! named by index (the borrow checker rejects a `Gc` held across a
//! safepoint). The program's results are checked line by line.

use std::fmt;

use tricolor::{
    ByContent, DebugFlags, ExternalMemory, Gc, GcMap, GcStr, GcVec, Heap, HeapBuilder, Member,
    Mutator, Root, Trace,
};

#[derive(Trace)]
enum Obj {
    Nil,
    Bool(bool),
    Num(f64),
    Sym(Member<GcStr>),
    Str(Member<GcStr>),
    Pair(Pair),
    Lambda(Lambda),
    Builtin(Builtin),
    Vector(GcVec<Member<Obj>>),
    Table(GcMap<ByContent<Member<GcStr>>, Member<Obj>>),
    Env(Env),
    Bytes(Bytes),
}

/// A byte buffer kept outside the heap, its size told to the pacer.
#[derive(Trace)]
struct Bytes {
    data: Vec<u8>,
    external: ExternalMemory,
}

#[derive(Trace)]
struct Pair {
    car: Member<Obj>,
    cdr: Member<Obj>,
}

#[derive(Trace)]
struct Lambda {
    params: Member<Obj>,
    /// The list of body forms.
    body: Member<Obj>,
    env: Member<Obj>,
}

/// Variables by symbol, by identity: symbols are interned.
#[derive(Trace)]
struct Env {
    vars: GcMap<Member<Obj>, Member<Obj>>,
    parent: Member<Obj>,
}

#[derive(Trace, Clone, Copy)]
enum Builtin {
    Add,
    Sub,
    Mul,
    Mod,
    Lt,
    NumEq,
    Cons,
    Car,
    Cdr,
    IsNull,
    IsPair,
    Vector,
    VectorPush,
    VectorRef,
    VectorLength,
    StringAppend,
    StringLength,
    NumberToString,
    MakeTable,
    TableSet,
    TableGet,
    MakeBytes,
    BytesLength,
}

const BUILTINS: &[(&str, Builtin)] = &[
    ("+", Builtin::Add),
    ("-", Builtin::Sub),
    ("*", Builtin::Mul),
    ("mod", Builtin::Mod),
    ("<", Builtin::Lt),
    ("=", Builtin::NumEq),
    ("cons", Builtin::Cons),
    ("car", Builtin::Car),
    ("cdr", Builtin::Cdr),
    ("null?", Builtin::IsNull),
    ("pair?", Builtin::IsPair),
    ("vector", Builtin::Vector),
    ("vector-push!", Builtin::VectorPush),
    ("vector-ref", Builtin::VectorRef),
    ("vector-length", Builtin::VectorLength),
    ("string-append", Builtin::StringAppend),
    ("string-length", Builtin::StringLength),
    ("number->string", Builtin::NumberToString),
    ("make-table", Builtin::MakeTable),
    ("table-set!", Builtin::TableSet),
    ("table-get", Builtin::TableGet),
    ("make-bytes", Builtin::MakeBytes),
    ("bytes-length", Builtin::BytesLength),
];

/// The interpreter's heap state, reachable from one root.
#[derive(Trace)]
struct Interp {
    symbols: GcMap<ByContent<Member<GcStr>>, Member<Obj>>,
    /// The shadow stack: values the evaluator keeps across safepoints.
    stack: GcVec<Member<Obj>>,
    nil: Member<Obj>,
}

impl fmt::Display for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Obj::Nil => f.write_str("()"),
            Obj::Bool(b) => f.write_str(if *b { "#t" } else { "#f" }),
            Obj::Num(n) => write!(f, "{n}"),
            Obj::Sym(s) | Obj::Str(s) => write!(f, "{}", s.get().unwrap()),
            Obj::Pair(p) => {
                write!(f, "({}", p.car.get().unwrap())?;
                let mut rest = p.cdr.get().unwrap();
                while let Obj::Pair(p) = Gc::as_ref(rest) {
                    write!(f, " {}", p.car.get().unwrap())?;
                    rest = p.cdr.get().unwrap();
                }
                match Gc::as_ref(rest) {
                    Obj::Nil => f.write_str(")"),
                    tail => write!(f, " . {tail})"),
                }
            }
            _ => f.write_str("#<object>"),
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn num(o: Gc<'_, Obj>) -> Result<f64> {
    match Gc::as_ref(o) {
        Obj::Num(n) => Ok(*n),
        other => Err(format!("not a number: {other}")),
    }
}

fn pair(o: Gc<'_, Obj>) -> Result<&Pair> {
    match Gc::as_ref(o) {
        Obj::Pair(p) => Ok(p),
        other => Err(format!("not a pair: {other}")),
    }
}

fn text(o: Gc<'_, Obj>) -> Result<Gc<'_, GcStr>> {
    match Gc::as_ref(o) {
        Obj::Str(s) => Ok(s.get().unwrap()),
        other => Err(format!("not a string: {other}")),
    }
}

/// Element `n` of the list `o`, and the list after it.
fn nth(o: Gc<'_, Obj>, n: usize) -> Result<(Gc<'_, Obj>, Gc<'_, Obj>)> {
    let mut p = pair(o)?;
    for _ in 0..n {
        p = pair(p.cdr.get().unwrap())?;
    }
    Ok((p.car.get().unwrap(), p.cdr.get().unwrap()))
}

struct Lisp {
    interp: Root<Interp>,
}

impl Lisp {
    fn new(m: &Mutator) -> Lisp {
        let nil = m.alloc(Obj::Nil);
        let interp = m.alloc(Interp {
            symbols: GcMap::new(),
            stack: GcVec::new(),
            nil: nil.into(),
        });
        let lisp = Lisp {
            interp: m.root(interp),
        };
        // Stack slot 0: the global environment.
        let global = lisp.env(m, None);
        lisp.push(m, global);
        for &(name, builtin) in BUILTINS {
            let value = m.alloc(Obj::Builtin(builtin));
            lisp.define(m, global, lisp.symbol(m, name), value);
        }
        lisp
    }

    fn state<'m>(&self, m: &'m Mutator) -> &'m Interp {
        Gc::as_ref(self.interp.get(m))
    }

    fn nil<'m>(&self, m: &'m Mutator) -> Gc<'m, Obj> {
        self.state(m).nil.get().unwrap()
    }

    fn at<'m>(&self, m: &'m Mutator, i: usize) -> Gc<'m, Obj> {
        self.state(m).stack.get(i).flatten().expect("a stack value")
    }

    /// Push `o`; its index.
    fn push(&self, m: &Mutator, o: Gc<'_, Obj>) -> usize {
        let stack = &self.state(m).stack;
        stack.push(m, Some(o));
        stack.len() - 1
    }

    /// Replace everything from `at` up with the top value.
    fn collapse(&self, m: &Mutator, at: usize) {
        let stack = &self.state(m).stack;
        let top = stack.pop(m).flatten();
        stack.truncate(m, at);
        stack.push(m, top);
    }

    fn symbol<'m>(&self, m: &'m Mutator, name: &str) -> Gc<'m, Obj> {
        let symbols = &self.state(m).symbols;
        if let Some(Some(s)) = symbols.get_by(name) {
            return s;
        }
        let name = m.alloc_str(name);
        let symbol = m.alloc(Obj::Sym(name.into()));
        symbols.insert(m, Some(name), Some(symbol));
        symbol
    }

    fn env<'m>(&self, m: &'m Mutator, parent: Option<Gc<'_, Obj>>) -> Gc<'m, Obj> {
        m.alloc(Obj::Env(Env {
            vars: GcMap::new(),
            parent: parent.into(),
        }))
    }

    fn define(&self, m: &Mutator, env: Gc<'_, Obj>, name: Gc<'_, Obj>, value: Gc<'_, Obj>) {
        let Obj::Env(env) = Gc::as_ref(env) else {
            unreachable!("environments are Env objects")
        };
        env.vars.insert(m, Some(name), Some(value));
    }

    /// The slot holding `name` in `env` or the nearest enclosing one.
    fn lookup<'m>(&self, env: Gc<'m, Obj>, name: Gc<'_, Obj>) -> Result<&'m Member<Obj>> {
        let mut cur = Some(env);
        while let Some(e) = cur {
            let Obj::Env(env) = Gc::as_ref(e) else {
                unreachable!("environments are Env objects")
            };
            if let Some(slot) = env.vars.get_slot(Some(name)) {
                return Ok(slot);
            }
            cur = env.parent.get();
        }
        Err(format!("unbound variable {name}"))
    }

    fn parse<'m>(
        &self,
        m: &'m Mutator,
        tokens: &mut std::iter::Peekable<std::vec::IntoIter<String>>,
    ) -> Gc<'m, Obj> {
        let token = tokens.next().expect("unbalanced program");
        match token.as_str() {
            "(" => {
                let mut items = Vec::new();
                while tokens.peek().map(String::as_str) != Some(")") {
                    items.push(self.parse(m, tokens));
                }
                tokens.next();
                self.list(m, &items)
            }
            "'" => {
                let quoted = self.parse(m, tokens);
                self.list(m, &[self.symbol(m, "quote"), quoted])
            }
            t if t.starts_with('"') => m.alloc(Obj::Str(m.alloc_str(&t[1..t.len() - 1]).into())),
            t => match t.parse::<f64>() {
                Ok(n) => m.alloc(Obj::Num(n)),
                Err(_) => self.symbol(m, t),
            },
        }
    }

    fn list<'m>(&self, m: &'m Mutator, items: &[Gc<'m, Obj>]) -> Gc<'m, Obj> {
        items.iter().rev().fold(self.nil(m), |cdr, &car| {
            m.alloc(Obj::Pair(Pair {
                car: car.into(),
                cdr: cdr.into(),
            }))
        })
    }

    /// Evaluate every form of `source`; the printed results.
    fn run(&self, m: &mut Mutator, source: &str) -> Result<Vec<String>> {
        let spaced = source
            .replace('(', " ( ")
            .replace(')', " ) ")
            .replace('\'', " ' ");
        let tokens: Vec<String> = spaced.split_whitespace().map(String::from).collect();
        let mut tokens = tokens.into_iter().peekable();
        let program = {
            let mut forms = Vec::new();
            while tokens.peek().is_some() {
                forms.push(self.parse(m, &mut tokens));
            }
            let list = self.list(m, &forms);
            self.push(m, list)
        };
        let mut out = Vec::new();
        while let Obj::Pair(p) = Gc::as_ref(self.at(m, program)) {
            // The next form goes on the stack, the rest of the program
            // stays in `program`'s slot.
            self.state(m).stack.set(m, program, p.cdr.get());
            let form = self.push(m, p.car.get().unwrap());
            self.eval(m, form, 0, 0)?;
            out.push(self.at(m, form + 1).to_string());
            self.state(m).stack.truncate(m, form);
        }
        self.state(m).stack.truncate(m, program);
        Ok(out)
    }

    /// Evaluate the expression at stack index `expr` in the environment at
    /// index `env`, and push the result.
    fn eval(&self, m: &mut Mutator, expr: usize, env: usize, depth: usize) -> Result<()> {
        if depth > 2000 {
            return Err("too deep".into());
        }
        m.safepoint();
        let m_ref: &Mutator = m;
        let e = self.at(m_ref, expr);
        let Obj::Pair(p) = Gc::as_ref(e) else {
            let value = match Gc::as_ref(e) {
                Obj::Sym(_) => self.lookup(self.at(m_ref, env), e)?.get().unwrap(),
                _ => e,
            };
            self.push(m_ref, value);
            return Ok(());
        };
        let head = p.car.get().unwrap();
        let special = match Gc::as_ref(head) {
            Obj::Sym(name) => name.get().unwrap().as_str().to_string(),
            _ => String::new(),
        };
        match special.as_str() {
            "quote" => {
                self.push(m_ref, nth(e, 1)?.0);
                Ok(())
            }
            "lambda" => {
                let ((params, body), env) = (nth(e, 1)?, self.at(m_ref, env));
                let lambda = m_ref.alloc(Obj::Lambda(Lambda {
                    params: params.into(),
                    body: body.into(),
                    env: env.into(),
                }));
                self.push(m_ref, lambda);
                Ok(())
            }
            "if" => {
                let condition = self.push(m_ref, nth(e, 1)?.0);
                self.eval(m, condition, env, depth + 1)?;
                let branch = match Gc::as_ref(self.at(m, condition + 1)) {
                    Obj::Bool(false) | Obj::Nil => 3,
                    _ => 2,
                };
                self.state(m).stack.truncate(m, condition);
                let branch = self.push(m, nth(self.at(m, expr), branch)?.0);
                self.eval(m, branch, env, depth + 1)?;
                self.collapse(m, condition);
                Ok(())
            }
            "define" | "set!" => {
                let at = self.push(m_ref, nth(e, 2)?.0);
                self.eval(m, at, env, depth + 1)?;
                let (name, value) = (nth(self.at(m, expr), 1)?.0, self.at(m, at + 1));
                if special == "define" {
                    self.define(m, self.at(m, env), name, value);
                } else {
                    self.lookup(self.at(m, env), name)?.set(m, Some(value));
                }
                self.push(m, name);
                self.collapse(m, at);
                Ok(())
            }
            "begin" => self.eval_body(m, expr, 1, env, depth),
            _ => self.call(m, expr, env, depth),
        }
    }

    /// Evaluate the forms of the list at `list` from element `from` on;
    /// push the last result (nil if none).
    fn eval_body(
        &self,
        m: &mut Mutator,
        list: usize,
        from: usize,
        env: usize,
        depth: usize,
    ) -> Result<()> {
        let base = self.push(m, self.nil(m));
        let mut i = from;
        while let Ok((form, _)) = nth(self.at(m, list), i) {
            let form = self.push(m, form);
            self.eval(m, form, env, depth + 1)?;
            self.collapse(m, base);
            i += 1;
        }
        Ok(())
    }

    /// `(f args...)`: evaluate each element onto the stack, then apply.
    fn call(&self, m: &mut Mutator, expr: usize, env: usize, depth: usize) -> Result<()> {
        let base = self.state(m).stack.len();
        let mut i = 0;
        while let Ok((part, _)) = nth(self.at(m, expr), i) {
            let part = self.push(m, part);
            self.eval(m, part, env, depth + 1)?;
            self.collapse(m, part);
            i += 1;
        }
        let f = self.at(m, base);
        match Gc::as_ref(f) {
            Obj::Builtin(b) => {
                let m_ref: &Mutator = m;
                let args: Vec<_> = (base + 1..base + i).map(|j| self.at(m_ref, j)).collect();
                let result = self.builtin(m, *b, &args)?;
                self.push(m, result);
            }
            Obj::Lambda(l) => {
                let frame = self.env(m, l.env.get());
                let mut params = l.params.get().unwrap();
                for j in base + 1..base + i {
                    let p = pair(params)?;
                    self.define(m, frame, p.car.get().unwrap(), self.at(m, j));
                    params = p.cdr.get().unwrap();
                }
                let frame = self.push(m, frame);
                let body = self.push(m, l.body.get().unwrap());
                self.eval_body(m, body, 0, frame, depth)?;
            }
            other => return Err(format!("not a function: {other}")),
        }
        self.collapse(m, base);
        Ok(())
    }

    fn builtin<'m>(&self, m: &'m Mutator, b: Builtin, args: &[Gc<'m, Obj>]) -> Result<Gc<'m, Obj>> {
        let arg = |i: usize| args.get(i).copied().ok_or("too few arguments");
        let number = |n: f64| m.alloc(Obj::Num(n));
        Ok(match b {
            Builtin::Add => number(num(arg(0)?)? + num(arg(1)?)?),
            Builtin::Sub => number(num(arg(0)?)? - num(arg(1)?)?),
            Builtin::Mul => number(num(arg(0)?)? * num(arg(1)?)?),
            Builtin::Mod => number(num(arg(0)?)? % num(arg(1)?)?),
            Builtin::Lt => m.alloc(Obj::Bool(num(arg(0)?)? < num(arg(1)?)?)),
            Builtin::NumEq => m.alloc(Obj::Bool(num(arg(0)?)? == num(arg(1)?)?)),
            Builtin::Cons => {
                let (car, cdr) = (arg(0)?, arg(1)?);
                m.alloc(Obj::Pair(Pair {
                    car: car.into(),
                    cdr: cdr.into(),
                }))
            }
            Builtin::Car => pair(arg(0)?)?.car.get().unwrap(),
            Builtin::Cdr => pair(arg(0)?)?.cdr.get().unwrap(),
            Builtin::IsNull => m.alloc(Obj::Bool(matches!(Gc::as_ref(arg(0)?), Obj::Nil))),
            Builtin::IsPair => m.alloc(Obj::Bool(matches!(Gc::as_ref(arg(0)?), Obj::Pair(_)))),
            Builtin::Vector => {
                let v = m.alloc(Obj::Vector(GcVec::new()));
                let Obj::Vector(items) = Gc::as_ref(v) else {
                    unreachable!()
                };
                args.iter().for_each(|&a| items.push(m, Some(a)));
                v
            }
            Builtin::VectorPush | Builtin::VectorRef | Builtin::VectorLength => {
                let Obj::Vector(items) = Gc::as_ref(arg(0)?) else {
                    return Err("not a vector".into());
                };
                match b {
                    Builtin::VectorPush => {
                        items.push(m, Some(arg(1)?));
                        arg(0)?
                    }
                    Builtin::VectorRef => {
                        let i = num(arg(1)?)? as usize;
                        items.get(i).flatten().ok_or("index out of range")?
                    }
                    _ => number(items.len() as f64),
                }
            }
            Builtin::StringAppend => {
                let mut s = String::new();
                for &a in args {
                    s.push_str(&text(a)?);
                }
                m.alloc(Obj::Str(m.alloc_str(&s).into()))
            }
            Builtin::StringLength => number(text(arg(0)?)?.chars().count() as f64),
            Builtin::NumberToString => {
                let s = num(arg(0)?)?.to_string();
                m.alloc(Obj::Str(m.alloc_str(&s).into()))
            }
            Builtin::MakeTable => m.alloc(Obj::Table(GcMap::new())),
            Builtin::MakeBytes => {
                let data = vec![0u8; num(arg(0)?)? as usize];
                let external = m.external_memory(data.capacity());
                m.alloc(Obj::Bytes(Bytes { data, external }))
            }
            Builtin::BytesLength => match Gc::as_ref(arg(0)?) {
                Obj::Bytes(b) => number(b.data.len() as f64),
                _ => return Err("not a byte buffer".into()),
            },
            Builtin::TableSet | Builtin::TableGet => {
                let Obj::Table(table) = Gc::as_ref(arg(0)?) else {
                    return Err("not a table".into());
                };
                let key = text(arg(1)?)?;
                if let Builtin::TableSet = b {
                    table.insert(m, Some(key), Some(arg(2)?));
                    arg(2)?
                } else {
                    match table.get_by(key.as_str()) {
                        Some(value) => value.unwrap(),
                        None => arg(2)?,
                    }
                }
            }
        })
    }
}

const PROGRAM: &str = r#"
(define fib (lambda (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))))
(fib 10)
(define iota (lambda (n acc) (if (= n 0) acc (iota (- n 1) (cons n acc)))))
(define map (lambda (f l) (if (null? l) '() (cons (f (car l)) (map f (cdr l))))))
(define foldl (lambda (f acc l) (if (null? l) acc (foldl f (f acc (car l)) (cdr l)))))
(foldl + 0 (map (lambda (x) (* x x)) (iota 30 '())))
(map (lambda (x) (* x 10)) (iota 5 '()))
(define make-counter (lambda () (define n 0) (lambda () (set! n (+ n 1)) n)))
(define c1 (make-counter))
(define c2 (make-counter))
(begin (c1) (c1))
(c2)
(c1)
(define words (vector))
(define fill (lambda (i n)
  (if (< i n)
      (begin (vector-push! words (string-append "w" (number->string (mod i 7))))
             (fill (+ i 1) n))
      (vector-length words))))
(fill 0 50)
(define counts (make-table))
(define tally (lambda (i)
  (if (< i (vector-length words))
      (begin (table-set! counts (vector-ref words i)
                         (+ 1 (table-get counts (vector-ref words i) 0)))
             (tally (+ i 1)))
      (table-get counts "w0" 0))))
(tally 0)
(table-get counts "w6" 0)
(define make-tree (lambda (d) (if (= d 0) (cons 0 0) (cons (make-tree (- d 1)) (make-tree (- d 1))))))
(define check (lambda (t) (if (pair? (car t)) (+ 1 (+ (check (car t)) (check (cdr t)))) 1)))
(check (make-tree 5))
(string-append "héllo" "," "wörld")
(string-length (string-append "héllo" "!"))
(define buffers (lambda (n total) (if (= n 0) total (buffers (- n 1) (+ total (bytes-length (make-bytes 65536)))))))
(buffers 64 0)
"#;

const EXPECTED: &[&str] = &[
    "fib",
    "55",
    "iota",
    "map",
    "foldl",
    "9455",
    "(10 20 30 40 50)",
    "make-counter",
    "c1",
    "c2",
    "2",
    "1",
    "3",
    "words",
    "fill",
    "50",
    "counts",
    "tally",
    "8",
    "7",
    "make-tree",
    "check",
    "63",
    "héllo,wörld",
    "6",
    "buffers",
    "4194304",
];

fn run(heap: Heap, rounds: usize) {
    let mut m = heap.mutator();
    let lisp = Lisp::new(&m);
    for _ in 0..rounds {
        assert_eq!(lisp.run(&mut m, PROGRAM).unwrap(), EXPECTED);
        assert_eq!(
            lisp.state(&m).stack.len(),
            1,
            "only the global environment is left"
        );
    }
}

#[test]
fn lisp_runs_with_default_settings() {
    let heap = HeapBuilder::new().build().unwrap();
    run(heap.clone(), 1);
    // The byte buffers' 4 MiB outside the heap were counted, then released
    // with their objects.
    heap.collect();
    heap.collect();
    assert_eq!(heap.stats().external_bytes, 0, "dead buffers still counted");
}

#[test]
fn lisp_runs_under_gcstress() {
    let heap = HeapBuilder::new()
        .debug(DebugFlags {
            gcstress: true,
            ..DebugFlags::default()
        })
        .build()
        .unwrap();
    run(heap.clone(), 1);
    assert!(
        heap.stats().num_gc > 1000,
        "a collection at every evaluation"
    );
}

#[test]
fn lisp_runs_under_concurrent_marking_with_checkmark() {
    let heap = HeapBuilder::new()
        .gc_percent(Some(1))
        .debug(DebugFlags {
            gccheckmark: true,
            ..DebugFlags::default()
        })
        .build()
        .unwrap();
    run(heap.clone(), 20);
    assert!(
        heap.stats().num_gc > 10,
        "cycles ran: {}",
        heap.stats().num_gc
    );
}
