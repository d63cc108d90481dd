//! The allocator's error type. Running out of the configured heap limit, out
//! of reserved address space, or an `mmap` failure is reported to the caller;
//! the heap stays usable and nothing already allocated is touched.

use std::fmt;

/// Why an allocation could not be served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllocError {
    /// Serving the request would take the bytes in spans past the heap's
    /// configured limit.
    HeapLimit {
        /// Bytes the request needed (rounded up to whole pages).
        requested: usize,
        /// Bytes in spans when the request arrived.
        in_use: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The heap's reserved address range is exhausted.
    AddressSpace {
        /// Bytes the request needed.
        requested: usize,
        /// Bytes reserved at start-up.
        reserved: usize,
    },
    /// The request can never be served (e.g. larger than the address space).
    TooLarge {
        /// Bytes requested.
        requested: usize,
    },
    /// The OS refused to map or protect memory.
    Os {
        /// The failing call.
        what: &'static str,
        /// Bytes asked for.
        bytes: usize,
        /// `errno` after the call.
        errno: i32,
    },
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocError::HeapLimit { requested, in_use, limit } => write!(
                f,
                "heap limit reached: {requested} more bytes would exceed the limit of {limit} bytes \
                 ({in_use} in use); free memory or raise the limit"
            ),
            AllocError::AddressSpace { requested, reserved } => write!(
                f,
                "heap address space exhausted: {requested} more bytes do not fit in the {reserved} bytes \
                 reserved; configure a larger reservation"
            ),
            AllocError::TooLarge { requested } => write!(f, "allocation of {requested} bytes can never succeed"),
            AllocError::Os { what, bytes, errno } => write!(
                f,
                "{what} of {bytes} bytes failed: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl std::error::Error for AllocError {}
