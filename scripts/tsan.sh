#!/usr/bin/env bash
# ThreadSanitizer over the collector's concurrent tests (README, "Checking
# the collector"). Needs nightly (-Zsanitizer, and -Zbuild-std so that std is
# instrumented too); installs the rust-src component that build-std needs.
# Extra arguments go to the test binaries (e.g. a test name filter).
# Exits non-zero if TSan reports anything.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rust-src --toolchain nightly
target=x86_64-unknown-linux-gnu
# With --target, RUSTFLAGS reach only the target's crates, not build scripts
# or proc macros (gc-macros), which run in the compiler and need no checking.
export RUSTFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR=target/tsan
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
# The collector under concurrent mutators, and the allocator's threaded
# tests (caches, background sweeping).
cargo +nightly test -Zbuild-std --target "$target" \
    --test concurrent --test collector --test termination --test weak -- "$@"
cargo +nightly test -Zbuild-std --target "$target" -p tricolor-alloc --test alloc -- "$@"
