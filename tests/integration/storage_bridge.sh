#!/usr/bin/env bash
# The storage integration test (storage_lib.sh) through the real bridge: `gcs -bridge unix:...`
# with -sysfs-root/-dev-root, driven by the host client (storage_host).
STORAGE_MODE=bridge exec "$(dirname "$0")/storage_lib.sh" "$@"
