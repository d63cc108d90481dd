//! The tricolor binary-tree code of the two classic GC workloads, written
//! once: the node type, bottom-up and top-down construction, and the node
//! count that checks a tree. examples/binary_trees.rs, examples/gcbench.rs
//! and the `ours` module of benches/trees.rs all include this file with
//! `#[path]`, so the examples and the benchmark run the same code.
//!
//! binary-trees uses `Node<()>` (two children and nothing else) built
//! bottom-up; GCBench uses [`GNode`] built both ways.

use tricolor::{Gc, Member, Mutator, Trace};

/// A tree node: two children, both present or both absent, and a payload
/// `P` that nothing reads but that gives the node the size its workload
/// specifies.
#[derive(Trace, Default)]
pub struct Node<P> {
    left: Member<Node<P>>,
    right: Member<Node<P>>,
    _payload: P,
}

/// GCBench's node: the two children plus the benchmark's two `int` fields
/// (`i` and `j`), which stay 0.
pub type GNode = Node<(i32, i32)>;

impl<P: Trace + Default + Send + Sync + 'static> Node<P> {
    /// A tree of `depth`, children allocated before their parent and then
    /// stored into it.
    pub fn bottom_up(m: &Mutator, depth: u32) -> Gc<'_, Self> {
        if depth == 0 {
            return m.alloc(Self::default());
        }
        let l = Self::bottom_up(m, depth - 1);
        let r = Self::bottom_up(m, depth - 1);
        let n = m.alloc(Self::default());
        n.left.set(m, Some(l));
        n.right.set(m, Some(r));
        n
    }

    /// A tree of `depth`, each parent allocated first and its fresh children
    /// stored into it (through the write barrier).
    pub fn top_down(m: &Mutator, depth: u32) -> Gc<'_, Self> {
        let n = m.alloc(Self::default());
        Self::populate(m, depth, n);
        n
    }

    /// Give `node` children down to `depth`, allocating each parent first.
    fn populate(m: &Mutator, depth: u32, node: Gc<'_, Self>) {
        if depth == 0 {
            return;
        }
        let l = m.alloc(Self::default());
        let r = m.alloc(Self::default());
        node.left.set(m, Some(l));
        node.right.set(m, Some(r));
        Self::populate(m, depth - 1, l);
        Self::populate(m, depth - 1, r);
    }

    /// The number of nodes in the tree below and including this one.
    pub fn check(&self) -> u64 {
        match (self.left.get(), self.right.get()) {
            (Some(l), Some(r)) => 1 + l.check() + r.check(),
            _ => 1,
        }
    }
}
