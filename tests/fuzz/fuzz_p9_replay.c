/* tests/fuzz/replay.c for the 9P harness: replays tests/fuzz/corpus/fuzz_p9/ (and earlier
 * crash artifacts) through fuzz_p9.c in make check, sanitizer builds included. */
#define FUZZ_NAME "fuzz_p9"
#include "tests/fuzz/replay.c"
