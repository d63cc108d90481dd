//! Identity (`Eq`, `Hash`, `Debug`, `{:p}`) of `Gc`, roots and `Weak`.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use tricolor::{Gc, GlobalRoot, Weak};

#[path = "common/reuse.rs"]
mod reuse;
use reuse::{heap, leaf_at, Leaf};

fn hash_of<T: Hash>(x: &T) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

#[test]
fn gc_and_roots_compare_and_hash_by_object() {
    let heap = heap();
    let m = heap.mutator();
    let a = m.alloc(Leaf { value: 1 });
    let b = m.alloc(Leaf { value: 1 });
    assert_eq!(a, a.clone());
    assert_ne!(a, b, "equal values, different objects");
    assert_eq!(*a, *b, "values compare through deref");
    assert_eq!(hash_of(&a), hash_of(&a.clone()));
    let set: HashSet<Gc<'_, Leaf>> = [a, b, a].into_iter().collect();
    assert_eq!(set.len(), 2);

    let (ra, ra2, rb) = (m.root(a), m.root(a), m.root(b));
    assert_eq!(ra, ra2);
    assert_ne!(ra, rb);
    assert_eq!(hash_of(&ra), hash_of(&ra2));
    // clippy's mutable_key_type is right about roots: `set` changes their
    // hash. This map's keys are never set.
    #[allow(clippy::mutable_key_type)]
    let mut names = HashMap::new();
    names.insert(ra.clone(), "a");
    assert_eq!(names.get(&ra2), Some(&"a"));
    ra2.set(&m, b);
    assert_eq!(ra2, rb, "a root's identity follows set");

    let ga = GlobalRoot::new(&m, a);
    assert_eq!(ga, ga.clone());
    assert_ne!(ga, GlobalRoot::new(&m, b));

    // `{:p}` is the value's address for all of them.
    let p = format!("{a:p}");
    assert_eq!(p, format!("{:p}", Gc::as_ptr(a)));
    assert_eq!(p, format!("{ra:p}"));
    assert_eq!(p, format!("{ga:p}"));
    assert_eq!(p, format!("{:p}", Weak::new(&m, a)));
    // Debug: the value for a Gc, the address for handles.
    assert_eq!(format!("{a:?}"), "Leaf { value: 1 }");
    assert_eq!(format!("{ra:?}"), format!("Root({p})"));
    assert_eq!(format!("{ga:?}"), format!("GlobalRoot({p})"));
}

#[test]
fn weak_identity_is_fixed_at_creation_and_survives_clearing() {
    let heap = heap();
    let mut m = heap.mutator();
    let (w1, w2, other, addr) = {
        let a = m.alloc(Leaf { value: 1 });
        let w1 = Weak::new(&m, a);
        let other = Weak::new(&m, m.alloc(Leaf { value: 2 }));
        (w1, Weak::new(&m, a), other, format!("{a:p}"))
    };
    assert_eq!(w1, w2, "made for the same object");
    assert_eq!(hash_of(&w1), hash_of(&w2));
    assert_ne!(w1, other);
    m.collect();
    assert!(w1.is_cleared() && w2.is_cleared());
    assert_eq!(w1, w2, "still equal once cleared");
    assert_eq!(w1, w1.clone());
    assert_eq!(format!("{w1:?}"), format!("Weak({addr}, cleared)"));
    let mut set = HashSet::new();
    set.insert(w1.clone());
    assert!(set.contains(&w2));

    // A later object at the reused address is another identity.
    let mut keep = Vec::new();
    let reused = leaf_at(&m, &addr, &mut keep);
    let w3 = Weak::new(&m, reused);
    assert_ne!(w3, w1);
    assert!(!set.contains(&w3));
    assert_eq!(w3.upgrade(&m).map(|l| l.value), Some(reused.value));
    assert!(w1.upgrade(&m).is_none());
}
