/* tests/fuzz/replay.c for fuzz_etc_files.c: replays tests/fuzz/corpus/fuzz_etc_files/ (and earlier
 * crash artifacts) in make check, sanitizer builds included. */
#define FUZZ_NAME "fuzz_etc_files"
#include "tests/fuzz/replay.c"
