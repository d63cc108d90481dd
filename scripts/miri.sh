#!/usr/bin/env bash
# Miri over gc-alloc's unit tests (README, "Checking the collector"): size
# classes, the page allocator's bookkeeping, span bitmaps and sweeping, all
# on ordinary memory (none of them maps any). Checks them for undefined
# behaviour. Needs nightly; installs the miri and rust-src components.
# Extra arguments go to the test binary (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add miri rust-src --toolchain nightly
export CARGO_TARGET_DIR=target/miri
# The allocator computes with addresses as integers (span starts, slot
# offsets) and turns them back into pointers, relying on exposed provenance:
# say so, rather than have Miri warn at each such cast.
export MIRIFLAGS="-Zmiri-permissive-provenance ${MIRIFLAGS:-}"
cargo +nightly miri setup
cargo +nightly miri test -p tricolor-alloc --lib -- "$@"
