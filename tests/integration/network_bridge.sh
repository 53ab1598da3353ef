#!/usr/bin/env bash
# ModifySettings `Network` Add/Remove through the real bridge: `gcs -bridge unix:...` runs
# inside a network namespace of the test's own (UVM) holding a veth end as the adapter, and the
# host side is lcow-bridge (host/bridge_client.h), one connection per request (gcs redials in
# between, keeping its namespace table). No container exists here, so no namespace has a
# target yet: Add resolves and records the adapter (found by MAC) without moving it; the
# netns-moving Sync is covered by network_netns.sh.
set -euo pipefail

top=${LCOW_TOP:-$(pwd)}
build=$top/${BUILD:-build}
gcs=$build/bin/gcs
bridge=$build/bin/lcow-bridge
p="lcow-test-$$"
UVM=$p-uvm PEER=$p-peer
T=$(mktemp -d /tmp/lcow-test-netbr-XXXXXX)
gcs_pid=

cleanup() {
    if [ -n "$gcs_pid" ]; then kill "$gcs_pid" 2>/dev/null || true; wait "$gcs_pid" 2>/dev/null || true; fi
    ip netns del $UVM 2>/dev/null || true
    ip netns del $PEER 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ ! -f "$T/gcs.log" ] || tail -n 20 "$T/gcs.log" >&2; exit 1; }

ip netns add $UVM
ip netns add $PEER
ip -n $UVM link add nic0 address 02:00:00:00:09:01 type veth peer name p0 netns $PEER

# gcs looks interfaces up under -sysfs-root: a fake tree naming the real veth three ways, as
# QEMU (class/net MAC), Hyper-V (VMBus instance id) and VPCI (PCI function below the VMBus
# device) would present it.
S=$T/sys
mkdir -p "$S/class/net/nic0" "$S/bus/vmbus/devices/6a2c4f1e-0000-4a1b-9c3d-00155d52c000/net/nic0" \
    "$S/bus/vmbus/devices/7b3d5a2f-1234-4b2c-8d4e-00155d52c001/pci1234:00/1234:00:00.0/net/nic0"
echo 02:00:00:00:09:01 >"$S/class/net/nic0/address"

ip netns exec $UVM "$gcs" -bridge "unix:$T/b" -sysfs-root "$S" -loglevel debug -log-format json \
    2>"$T/gcs.log" &
gcs_pid=$!

# modify REQUESTTYPE SETTINGS-JSON: prints the response payload; exit 1 for a failure HRESULT.
modify() {
    "$bridge" --listen "unix:$T/b" --timeout 30 raw 0x10100a01 \
        "{\"ContainerId\":\"00000000-0000-0000-0000-000000000000\",\"ActivityId\":\"6f0b1b9e-0000-4000-8000-000000000001\",\"Request\":{\"ResourceType\":\"Network\",\"RequestType\":\"$1\",\"Settings\":$2}}"
}
ok() { modify "$@" | grep -q '"Result":0' || fail "request $1 $2 failed"; }
# refused RequestType Settings Needle: must answer E_FAIL (0x80004005) naming the problem.
refused() {
    local out
    out=$(modify "$1" "$2") && fail "request $1 $2 succeeded"
    grep -q '"Result":-2147467259' <<<"$out" || fail "no E_FAIL for $2: $out"
    grep -q -- "$3" <<<"$out" || fail "error for $2 does not mention [$3]: $out"
    echo "ok: refused: $3"
}
nic='{"NamespaceID":"NS-Bridge","ID":"nic0-guid","MacAddress":"02-00-00-00-09-01","DNSSuffix":"corp.example","DNSServerList":"10.9.0.1","IPConfigs":[{"IPAddress":"10.9.0.5","PrefixLength":24}],"Routes":[{"NextHop":"10.9.0.1","DestinationPrefix":"0.0.0.0/0"}]}'

ok Add "$nic"
echo "ok: Add"
# No target yet: the adapter is recorded, not moved or configured.
ip -n $UVM -j addr show nic0 | grep -q '"local":"10.9.0.5"' && fail "adapter configured without a target"
refused Add "${nic/nic0-guid/NIC0-GUID}" "already present"
refused Add '{"NamespaceID":"ns-bridge","ID":"n2","MacAddress":"02-00-00-00-09-01","IPConfigs":[{"IPAddress":"10.9.0.300","PrefixLength":24}]}' \
    'IPConfigs\[0\].IPAddress: malformed IP'
refused Add '{"NamespaceID":"ns-bridge","ID":"n3","MacAddress":"02-00-00-00-09-01","IPConfigs":[{"IPAddress":"10.9.0.6","PrefixLength":40}]}' \
    'PrefixLength 40 out of range'
refused Add '{"NamespaceID":"ns-bridge","ID":"n4","MacAddress":"02-00-00-00-09-01","DNSSuffix":"a,b,c,d,e,f"}' \
    'more than 6'
refused Update "$nic" 'not supported'
# Unknown MAC: gcs waits its bounded 5 s, then answers, and keeps serving.
refused Add '{"NamespaceID":"ns-bridge","ID":"ghost","MacAddress":"02-00-00-00-ff-ff"}' \
    'no interface for adapter `ghost`'
ok Add '{"NamespaceID":"ns-hv","ID":"6A2C4F1E-0000-4A1B-9C3D-00155D52C000"}'
echo "ok: Add by VMBus instance id (upper-case id, lower-case sysfs name)"
ok Add '{"NamespaceID":"ns-vpci","ID":"7b3d5a2f-1234-4b2c-8d4e-00155d52c001","VPCIAssigned":true}'
echo "ok: Add of a VPCI adapter"
ok Remove '{"NamespaceID":"ns-bridge","ID":"nic0-guid"}'
ok Remove '{"NamespaceID":"ns-bridge","ID":"nic0-guid"}'   # already gone: success, as in Go
ok Remove '{"NamespaceID":"no-such-namespace","ID":"x"}'
echo "ok: Remove (also of missing adapters and namespaces)"
ok Add "$nic" # the id is free again
echo "ok: Add after Remove"
kill -0 "$gcs_pid" || fail "gcs died"
echo PASS
