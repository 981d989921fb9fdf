#!/usr/bin/env bash
# `make check-kernels`: the C kernels compile for the other architectures too, from this x86-64 machine,
# with the clang of the Swift toolchain: arm64 (the NEON set, which must use NEON fused multiply-adds)
# and riscv64 (the generic set). Freestanding: the kernels need no C library, and no cross sysroot is
# installed. Nothing runs; the arm64 set is tested for real where the package is built on arm64.
set -euo pipefail
cd "$(dirname "$0")/../Sources/CKernels"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
clang=$(command -v clang)
objdump=$(command -v llvm-objdump || true)
for target in aarch64-linux-gnu riscv64-linux-gnu; do
    "$clang" --target=$target -ffreestanding -O2 -Wall -Werror -Iinclude -I. -c kernels_arm.c -o "$out/$target.o"
    echo "check-kernels: kernels_arm.c compiles for $target" >&2
done
if [ -n "$objdump" ]; then
    fmla=$("$objdump" -d "$out/aarch64-linux-gnu.o" | grep -c fmla || true)
    [ "$fmla" -gt 0 ] || { echo "check-kernels: the arm64 build has no NEON fmla instructions" >&2; exit 1; }
    echo "check-kernels: arm64 set uses NEON ($fmla fmla instructions)" >&2
fi
