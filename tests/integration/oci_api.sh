#!/usr/bin/env bash
# Runs oci_api_test (the executor library as gcs calls it) on a busybox rootfs built here, with
# its cgroups under a parent of its own that is removed afterwards.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/oci_lib.sh"
oci_skip_unless_ready
trap oci_cleanup EXIT
oci_make_rootfs "$WORK/rootfs"
"$TOP/$BUILD/tests/oci_api_test" "$WORK/rootfs" "$CG_PARENT"
