//! Size classes: the table that maps a request size to an object size and a
//! span size, generated at compile time by Go's rule.
//!
//! Generation (a `const fn`, so the table is computed by the compiler and a
//! test re-checks it): walk candidate sizes upward in steps of an alignment
//! that grows with the size (8 B, 16 B from 32 B, size/8 from 128 B, 256 B
//! from 2 KiB). For each candidate take the fewest 8 KiB pages whose tail
//! (the bytes left over after packing whole objects) is at most 1/8 of the
//! span; if that gives the same page count and object count as the previous
//! class, widen the previous class instead of adding one. Finally widen every
//! class to the largest multiple of 128 B that still packs the same number of
//! objects into its pages. That is Go's table: 67 classes plus class 0, which
//! means "large object, span of its own". Go's merging and widening leave a
//! few gaps where a request just above a class wastes more than 1/8 when
//! rounded up (769 B -> 896 B); a last pass inserts a class in each such gap,
//! which gives a handful more classes than Go's 68.
//!
//! Invariants (checked by tests): rounding a request up to its class wastes at
//! most 12.5% for requests above 128 B's alignment steps (small sizes lose
//! more, as in Go, because the classes are 8 and 16 bytes apart), the span
//! tail wastes at most 12.5%, every class has at most [`MAX_OBJS_PER_SPAN`]
//! objects, and the object index of any offset is exactly `offset / size`
//! computed as a multiply and shift with the class's `div_mul`.

/// Log2 of the allocator's page size.
pub const PAGE_SHIFT: usize = 13;
/// The allocator's page size (8 KiB, independent of the OS page).
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Largest request served from a size class; larger ones get their own span.
pub const MAX_SMALL_SIZE: usize = 32 * 1024;
/// Most objects any span can hold (8-byte objects in one page).
pub const MAX_OBJS_PER_SPAN: usize = PAGE_SIZE / 8;

const SMALL_SIZE_DIV: usize = 8;
const SMALL_SIZE_MAX: usize = 1024;
const LARGE_SIZE_DIV: usize = 128;

/// One size class: object size, span size in pages, objects per span, and the
/// reciprocal that turns an offset into an object index without dividing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeClass {
    /// Bytes per object.
    pub size: u32,
    /// Pages per span.
    pub npages: u32,
    /// Objects per span.
    pub nelems: u32,
    /// `u32::MAX / size + 1`: `(offset * div_mul) >> 32 == offset / size`
    /// for every offset inside a span of this class.
    pub div_mul: u32,
}

impl SizeClass {
    const fn new(size: usize, npages: usize) -> SizeClass {
        let span_bytes = npages * PAGE_SIZE;
        SizeClass {
            size: size as u32,
            npages: npages as u32,
            nelems: (span_bytes / size) as u32,
            div_mul: (u32::MAX / size as u32).wrapping_add(1),
        }
    }

    /// Index of the object that contains byte `offset` of a span of this class.
    #[inline]
    pub fn object_index(&self, offset: usize) -> usize {
        ((offset as u64 * self.div_mul as u64) >> 32) as usize
    }
}

/// Upper bound on the generator's output, to size its scratch arrays.
const MAX_CLASSES: usize = 96;

/// The largest object size that keeps the rounding waste of a request one
/// byte above `prev` within 1/8. Go's alignment steps already bound it below
/// 128 B (where small classes are simply 8 or 16 B apart), so no cap there.
const fn rounding_cap(prev: usize) -> usize {
    if prev < 128 {
        usize::MAX
    } else {
        8 * (prev + 1) / 7
    }
}

/// The alignment Go's generator uses for objects of `size` bytes.
const fn align_for(size: usize) -> usize {
    let p = if size.is_power_of_two() {
        size
    } else {
        size.next_power_of_two() / 2
    };
    if p >= 2048 {
        256
    } else if p >= 128 {
        p / 8
    } else if p >= 32 {
        16
    } else {
        8
    }
}

/// Fewest pages whose tail after packing `size`-byte objects is at most 1/8.
const fn pages_for(size: usize) -> usize {
    let mut alloc = PAGE_SIZE;
    while alloc % size > alloc / 8 {
        alloc += PAGE_SIZE;
    }
    alloc / PAGE_SIZE
}

const fn generate() -> ([usize; MAX_CLASSES], [usize; MAX_CLASSES], usize) {
    // Pass 1 and 2: Go's generator, which yields 68 classes.
    let mut sizes = [0usize; MAX_CLASSES];
    let mut pages = [0usize; MAX_CLASSES];
    let mut n = 1; // class 0 is the large-object placeholder
    let mut size = SMALL_SIZE_DIV;
    while size <= MAX_SMALL_SIZE {
        let npages = pages_for(size);
        let alloc = npages * PAGE_SIZE;
        if n > 1 && npages == pages[n - 1] && alloc / size == alloc / sizes[n - 1] {
            sizes[n - 1] = size;
        } else {
            sizes[n] = size;
            pages[n] = npages;
            n += 1;
        }
        size += align_for(size);
    }
    assert!(n == 68, "Go's size class rule must give 68 classes");
    let mut i = 1;
    while i < n {
        let span_bytes = pages[i] * PAGE_SIZE;
        let widened = (span_bytes / (span_bytes / sizes[i])) & !(LARGE_SIZE_DIV - 1);
        if widened > sizes[i] {
            sizes[i] = widened;
        }
        i += 1;
    }
    // Pass 3: where merging or widening left a gap whose rounding waste
    // exceeds 1/8 (Go's 768 -> 896 and 8192 -> 9472, for example), insert
    // the largest aligned class that closes it.
    let mut out_sizes = [0usize; MAX_CLASSES];
    let mut out_pages = [0usize; MAX_CLASSES];
    let mut m = 1;
    let mut i = 1;
    while i < n {
        let cap = rounding_cap(out_sizes[m - 1]);
        if sizes[i] > cap {
            let fill = cap / align_for(cap) * align_for(cap);
            out_sizes[m] = fill;
            out_pages[m] = pages_for(fill);
        } else {
            out_sizes[m] = sizes[i];
            out_pages[m] = pages[i];
            i += 1;
        }
        m += 1;
    }
    (out_sizes, out_pages, m)
}

const GENERATED: ([usize; MAX_CLASSES], [usize; MAX_CLASSES], usize) = generate();

/// Number of size classes including the large-object class 0.
pub const NUM_SIZE_CLASSES: usize = GENERATED.2;
/// Number of span classes: each size class has a scan and a noscan variant.
pub const NUM_SPAN_CLASSES: usize = NUM_SIZE_CLASSES * 2;

const fn table() -> [SizeClass; NUM_SIZE_CLASSES] {
    let mut out = [SizeClass {
        size: 0,
        npages: 0,
        nelems: 0,
        div_mul: 0,
    }; NUM_SIZE_CLASSES];
    let mut i = 1;
    while i < NUM_SIZE_CLASSES {
        out[i] = SizeClass::new(GENERATED.0[i], GENERATED.1[i]);
        i += 1;
    }
    out
}

/// The size-class table; index 0 is the large-object class.
pub static CLASSES: [SizeClass; NUM_SIZE_CLASSES] = table();

const CLASS8_LEN: usize = SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1;
const CLASS128_LEN: usize = (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1;

const fn lookup_tables() -> ([u8; CLASS8_LEN], [u8; CLASS128_LEN]) {
    let classes = table();
    let mut t8 = [0u8; CLASS8_LEN];
    let mut t128 = [0u8; CLASS128_LEN];
    let mut c = 1;
    let mut i = 0;
    while i < CLASS8_LEN {
        while (classes[c].size as usize) < i * SMALL_SIZE_DIV {
            c += 1;
        }
        t8[i] = c as u8;
        i += 1;
    }
    let mut i = 0;
    while i < CLASS128_LEN {
        while (classes[c].size as usize) < SMALL_SIZE_MAX + i * LARGE_SIZE_DIV {
            c += 1;
        }
        t128[i] = c as u8;
        i += 1;
    }
    (t8, t128)
}

static LOOKUP: ([u8; CLASS8_LEN], [u8; CLASS128_LEN]) = lookup_tables();

/// The size class serving a request of `size` bytes, or `None` if the request
/// is larger than [`MAX_SMALL_SIZE`] and needs a span of its own.
#[inline]
pub const fn size_class_of(size: usize) -> Option<u8> {
    if size <= SMALL_SIZE_MAX {
        Some(LOOKUP.0[size.div_ceil(SMALL_SIZE_DIV)])
    } else if size <= MAX_SMALL_SIZE {
        Some(LOOKUP.1[(size - SMALL_SIZE_MAX).div_ceil(LARGE_SIZE_DIV)])
    } else {
        None
    }
}

/// A span class: a size class plus whether its objects hold no pointers
/// ("noscan" spans are never scanned by the marker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpanClass(u8);

impl SpanClass {
    /// The span class for `size_class` with the given scan kind.
    #[inline]
    pub const fn new(size_class: u8, noscan: bool) -> SpanClass {
        SpanClass((size_class << 1) | noscan as u8)
    }

    pub(crate) const fn from_index(index: usize) -> SpanClass {
        SpanClass(index as u8)
    }

    /// Index into per-span-class arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The size class (0 = large object).
    #[inline]
    pub const fn size_class(self) -> u8 {
        self.0 >> 1
    }

    /// Whether objects of this class are never scanned.
    #[inline]
    pub const fn noscan(self) -> bool {
        self.0 & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_go_shape() {
        assert!(
            (64..=80).contains(&CLASSES.len()),
            "{} classes",
            CLASSES.len()
        );
        assert_eq!(CLASSES[1].size, 8);
        assert_eq!(CLASSES[3].size, 24);
        assert_eq!(CLASSES[NUM_SIZE_CLASSES - 1].size, 32768);
        let sizes: Vec<u32> = CLASSES.iter().map(|c| c.size).collect();
        assert!(
            sizes.windows(2).all(|w| w[0] < w[1]),
            "sizes must increase: {sizes:?}"
        );
    }

    #[test]
    fn waste_is_bounded_for_every_class() {
        for (i, c) in CLASSES.iter().enumerate().skip(1) {
            let span = c.npages as usize * PAGE_SIZE;
            let tail = span - c.nelems as usize * c.size as usize;
            assert!(
                tail * 8 <= span,
                "class {i} ({} B): tail waste {tail} of {span}",
                c.size
            );
            assert!(c.nelems as usize <= MAX_OBJS_PER_SPAN);
            let prev = CLASSES[i - 1].size as usize;
            // Rounding waste: a request one byte above the previous class.
            // Bounded from 128 B up; below, classes are 8/16 B apart.
            if prev >= 128 {
                let worst = c.size as usize - (prev + 1);
                assert!(
                    worst * 8 <= c.size as usize,
                    "class {i}: rounding waste {worst} of {}",
                    c.size
                );
            }
        }
    }

    #[test]
    fn lookup_picks_smallest_fitting_class() {
        for size in 1..=MAX_SMALL_SIZE {
            let c = size_class_of(size).unwrap() as usize;
            assert!(CLASSES[c].size as usize >= size, "size {size} -> class {c}");
            assert!(
                c == 1 || (CLASSES[c - 1].size as usize) < size,
                "size {size} -> class {c} not smallest"
            );
        }
        assert_eq!(size_class_of(MAX_SMALL_SIZE + 1), None);
    }

    #[test]
    fn div_mul_is_exact_for_every_offset() {
        for c in CLASSES.iter().skip(1) {
            let span = c.npages as usize * PAGE_SIZE;
            let size = c.size as usize;
            // Miri is far too slow for every offset: there, each slot's
            // first and last byte (where an off-by-one would show).
            let offsets: Vec<usize> = if cfg!(miri) {
                (0..span / size)
                    .flat_map(|i| [i * size, i * size + size - 1])
                    .collect()
            } else {
                (0..span).collect()
            };
            for off in offsets {
                assert_eq!(
                    c.object_index(off),
                    off / c.size as usize,
                    "size {} offset {off}",
                    c.size
                );
            }
        }
    }
}
