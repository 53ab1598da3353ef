/* tests/fuzz/replay.c for the layer conversion harness: replays
 * tests/fuzz/corpus/fuzz_tar2ext4/ (and earlier crash artifacts) through fuzz_tar2ext4.c in
 * make check, sanitizer builds included. */
#define FUZZ_NAME "fuzz_tar2ext4"
#include "tests/fuzz/replay.c"
