// libFuzzer's driver entry point (compiler-rt FuzzerInterface.h, LLVM 11+): the fuzz targets call it
// from their own `main`, because SwiftPM renames an executable's entry point on Linux and
// libFuzzer's `main` would then never be linked in.
#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
