//! Why is this alive: `Mutator::path_to` on heaps with known retention
//! chains (a forgotten global root, another thread's mutator root).

use tricolor::{Gc, GlobalRoot, HeapBuilder, Member, RootKind, Trace, Weak};

#[derive(Trace)]
struct Registry {
    session: Member<Session>,
}

#[derive(Trace)]
struct Session {
    payload: Member<Payload>,
}

#[derive(Trace)]
struct Payload {
    bytes: Vec<u8>,
}

#[derive(Trace)]
struct Holder {
    next: Member<Holder>,
    session: Member<Session>,
}

/// A deliberate leak: a payload kept by a forgotten global root through two
/// objects of distinct types, and also reachable from a mutator root by a
/// longer path.
#[test]
fn path_to_names_the_global_root_and_each_type_on_the_way() {
    let heap = HeapBuilder::new().build().unwrap();
    let mut m = heap.mutator();
    let (forgotten, detour, w, addresses) = {
        let payload = m.alloc(Payload {
            bytes: vec![0; 1000],
        });
        let session = m.alloc(Session {
            payload: Member::null(),
        });
        session.payload.set(&m, Some(payload));
        let registry = m.alloc(Registry {
            session: Member::null(),
        });
        registry.session.set(&m, Some(session));
        let mut holder = m.alloc(Holder {
            next: Member::null(),
            session: Member::null(),
        });
        holder.session.set(&m, Some(session));
        for _ in 0..2 {
            let h = m.alloc(Holder {
                next: Member::null(),
                session: Member::null(),
            });
            h.next.set(&m, Some(holder));
            holder = h;
        }
        let addresses = [
            Gc::as_ptr(registry) as usize,
            Gc::as_ptr(session) as usize,
            Gc::as_ptr(payload) as usize,
        ];
        (
            GlobalRoot::new(&m, registry),
            m.root(holder),
            Weak::new(&m, payload),
            addresses,
        )
    };
    m.collect();

    let path = m.path_to(&w).expect("the payload is reachable");
    assert_eq!(path.root, RootKind::Global, "{path}");
    let types: Vec<&str> = path.steps.iter().map(|s| s.type_name).collect();
    assert_eq!(
        types,
        ["paths::Registry", "paths::Session", "paths::Payload"]
    );
    let found: Vec<usize> = path.steps.iter().map(|s| s.address).collect();
    assert_eq!(found, addresses);
    let text = path.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "global root");
    assert_eq!(
        lines[3],
        format!("  -> paths::Payload @ {:#x}", addresses[2])
    );

    // Without the global root, the longer path from the mutator's root.
    drop(forgotten);
    let path = m.path_to(&w).expect("the payload is still reachable");
    assert!(matches!(path.root, RootKind::Thread { .. }), "{path}");
    assert_eq!(path.steps.len(), 5, "{path}");

    drop(detour);
    assert!(m.path_to(&w).is_none(), "garbage has no path");
    m.collect();
    assert!(w.is_cleared());
}

/// A path from another thread's mutator root names that thread and where
/// its mutator was attached.
#[test]
fn path_to_names_the_mutator_thread_holding_the_object() {
    let heap = HeapBuilder::new().build().unwrap();
    let (to_main, from_holder) = std::sync::mpsc::channel();
    let (to_holder, from_main) = std::sync::mpsc::channel::<()>();
    let h = heap.clone();
    let holder = std::thread::Builder::new()
        .name("holder".into())
        .spawn(move || {
            let mut m = h.mutator();
            let line = line!() - 1;
            let session = m.alloc(Session {
                payload: Member::null(),
            });
            let payload = m.alloc(Payload { bytes: vec![1; 10] });
            session.payload.set(&m, Some(payload));
            let w = Weak::new(&m, payload);
            let _kept = m.root(session);
            to_main.send((w, line)).unwrap();
            m.blocking(|| from_main.recv().unwrap());
        })
        .unwrap();
    let mut m = heap.mutator();
    let (w, line) = m.blocking(|| from_holder.recv().unwrap());
    let path = m.path_to(&w).expect("held by the other thread");
    match &path.root {
        RootKind::Thread {
            thread_name,
            attached_at,
            ..
        } => {
            assert_eq!(thread_name.as_deref(), Some("holder"));
            assert_eq!((attached_at.file(), attached_at.line()), (file!(), line));
        }
        other => panic!("not a mutator root: {other:?}"),
    }
    let types: Vec<&str> = path.steps.iter().map(|s| s.type_name).collect();
    assert_eq!(types, ["paths::Session", "paths::Payload"]);
    assert!(
        path.to_string()
            .starts_with("root of the mutator on thread \"holder\" (ThreadId("),
        "{path}"
    );
    to_holder.send(()).unwrap();
    m.blocking(|| holder.join().unwrap());
}
