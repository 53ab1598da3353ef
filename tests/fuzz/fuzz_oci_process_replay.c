/* tests/fuzz/replay.c for fuzz_oci_process.c: replays tests/fuzz/corpus/fuzz_oci_process/ (and
 * earlier crash artifacts) in make check, sanitizer builds included. */
#define FUZZ_NAME "fuzz_oci_process"
#include "tests/fuzz/replay.c"
