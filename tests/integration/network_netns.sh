#!/usr/bin/env bash
# gcs network library against real rtnetlink (gcs-protocol.md §5.6). The test makes its own
# network namespaces: UVM (where the "adapter" appears, as gcs's namespace would see it), A/B
# (sandbox namespaces the adapter moves into), PEER (the other veth end, standing in for the
# host's switch) and HOST (host-network mode: configured in place). network_ctl always runs in
# UVM or HOST, never in this machine's own namespace. Each adapter is a veth end matched by
# MAC (no VMBus here), and every check reads `ip -j` inside the target namespace. Pings only
# ever target the other end of the same veth. Everything is deleted on exit.
set -euo pipefail

top=${LCOW_TOP:-$(pwd)}
ctl="$top/${BUILD:-build}/tests/network_ctl"
p="lcow-test-$$"
UVM=$p-uvm A=$p-a B=$p-b C=$p-c D=$p-d PEER=$p-peer HOST=$p-host
tmp=$(mktemp -d /tmp/lcow-test-net-XXXXXX)
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox (busybox-static) is required: ping, udhcpc, udhcpd" >&2; exit 1; }
# Three tries: the first echo can be lost while the neighbour entry is being resolved.
ping4() {
    for _ in 1 2 3; do
        ip netns exec "$1" "$busybox" ping -c 1 -W 3 "$2" >/dev/null && return 0
    done
    fail "ping $2 from $1"
}
# The sandbox's IPv6 address is tentative (duplicate address detection) for a moment after
# the link comes up, so the first echo may go unanswered: try a few times.
ping6() {
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        ip netns exec "$1" "$busybox" ping6 -c 1 -W 1 "$2" >/dev/null && return 0
    done
    fail "ping6 $2 from $1"
}
udhcpd_pid= holder=

cleanup() {
    [ -z "$udhcpd_pid" ] || kill "$udhcpd_pid" 2>/dev/null || true
    [ -z "$holder" ] || kill "$holder" 2>/dev/null || true
    for ns in $UVM $A $B $C $D $PEER $HOST; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect NAME WANT GOT
expect() { [ "$2" = "$3" ] || fail "$1: want [$2] got [$3]"; echo "ok: $1"; }
ctl_in() { local ns=$1; shift; ip netns exec "$ns" "$ctl" --lookup-ms 2000 "$@"; }

for ns in $UVM $A $B $C $D $PEER $HOST; do ip netns add "$ns"; ip -n "$ns" link set lo up; done

# A veth pair: NAME (with MAC) in namespace $2, peer end PNAME in PEER with addresses.
veth() {
    local name=$1 ns=$2 mac=$3 pname=$4; shift 4
    ip -n "$ns" link add "$name" address "$mac" type veth peer name "$pname" netns "$PEER"
    for a in "$@"; do
        case $a in *:*) ip -n "$PEER" addr add "$a" dev "$pname" nodad ;; *) ip -n "$PEER" addr add "$a" dev "$pname" ;; esac
    done
    ip -n "$PEER" link set "$pname" up
}

global_addrs() { # NS DEV
    ip -n "$1" -j addr show dev "$2" |
        jq -r '.[0].addr_info[] | select(.scope=="global") | "\(.local)/\(.prefixlen)"' | sort | xargs
}
routes() { # NS FAMILY DEV [TABLE]
    ip -n "$1" "-$2" -j route show table "${4:-main}" dev "$3" |
        jq -r '.[] | select(.protocol != "kernel") |
               "\(.dst) via=\(.gateway // "-") metric=\(.metric // 0) proto=\(.protocol // "boot")"' |
        sort | xargs -d '\n' | sed 's/ \(default\|[0-9a-f]*[.:]\)/; \1/g'
}
links() { ip -n "$1" -j link | jq -r '[.[].ifname] | sort | join(" ")'; }

# ---------------------------------------------------------------- 1. IPv4 + IPv6, sync first
veth nic0 $UVM 02:00:00:00:01:01 p0 10.50.0.1/24 fd00:50::1/64
settings='{"NamespaceID":"NS-One","ID":"nic0-guid","MacAddress":"02-00-00-00-01-01",
  "EncapOverhead":50,"DNSSuffix":"svc.cluster.local,Cluster.Local","DNSServerList":"10.50.0.1",
  "IPConfigs":[{"IPAddress":"10.50.0.5","PrefixLength":24},{"IPAddress":"fd00:50::5","PrefixLength":64}],
  "Routes":[{"NextHop":"10.50.0.1","DestinationPrefix":"0.0.0.0/0"},
            {"NextHop":"0.0.0.0","DestinationPrefix":"0.0.0.0/0"},
            {"NextHop":"10.50.0.1","DestinationPrefix":"10.60.0.0/16","Metric":30},
            {"NextHop":"192.168.99.1","DestinationPrefix":"172.31.0.0/16","Metric":7},
            {"NextHop":"fd00:50::1","DestinationPrefix":"::/0","Metric":5},
            {"NextHop":"fd00:50::1","DestinationPrefix":"fd00:60::/48"},
            {"NextHop":"","DestinationPrefix":"10.61.0.0/16","Metric":3}]}'
out=$(ctl_in $UVM sync ns-one /var/run/netns/$A add "$settings" resolv NS-ONE count ns-one \
      etc ns-one "$tmp" web.corp.example)
expect "resolv.conf + count" "search svc.cluster.local cluster.local
nameserver 10.50.0.1
1" "$out"
expect "adapter left the UVM namespace" "lo" "$(links $UVM)"
expect "adapter in sandbox A" "lo nic0" "$(links $A)"
expect "MTU minus EncapOverhead" 1450 "$(ip -n $A -j link show nic0 | jq '.[0].mtu')"
expect "link up" true "$(ip -n $A -j link show nic0 | jq '.[0].flags | index("UP") != null')"
# The gateway outside every subnet (192.168.99.1) was added as a /32, then the route retried.
expect "addresses" "10.50.0.5/24 192.168.99.1/32 fd00:50::5/64" "$(global_addrs $A nic0)"
expect "IPv4 routes" "10.60.0.0/16 via=10.50.0.1 metric=30 proto=boot; 10.61.0.0/16 via=- metric=3 proto=boot; \
172.31.0.0/16 via=192.168.99.1 metric=7 proto=boot; default via=10.50.0.1 metric=0 proto=boot" \
    "$(routes $A 4 nic0)"
expect "IPv6 routes" "default via=fd00:50::1 metric=5 proto=boot; \
fd00:60::/48 via=fd00:50::1 metric=1024 proto=boot" "$(routes $A 6 nic0)" # IPv6 turns metric 0 into 1024
expect "no PBR rules without low metric" "" "$(ip -n $A -j rule | jq -r '.[] | select(.priority==5) | .src')"
expect "hostname file" "web.corp.example" "$(cat "$tmp/hostname")"
expect "hosts file" "127.0.0.1 web.corp.example web" "$(sed -n 2p "$tmp/hosts")"
expect "resolv.conf file" "search svc.cluster.local cluster.local" "$(head -n1 "$tmp/resolv.conf")"
ping4 $A 10.50.0.1
ping4 $PEER 10.50.0.5
# IPv6 duplicate address detection delays the sandbox's address for a moment.
ping6 $A fd00:50::1
echo "ok: pings over the moved adapter (IPv4, IPv6)"

# ------------------------------------- 2. add first, then sync; PolicyBasedRouting; re-sync
veth nic1 $UVM 02:00:00:00:02:01 p1 10.51.0.1/24
veth nic2 $UVM 02:00:00:00:02:02 p2 10.52.0.1/24
first='{"NamespaceID":"ns-two","ID":"nic1-guid","MacAddress":"02:00:00:00:02:01","PolicyBasedRouting":true,
  "IPConfigs":[{"IPAddress":"10.51.0.5","PrefixLength":24}],
  "Routes":[{"NextHop":"10.51.0.1","DestinationPrefix":"0.0.0.0/0"}]}'
second='{"NamespaceID":"ns-two","ID":"nic2-guid","MacAddress":"02:00:00:00:02:02","PolicyBasedRouting":true,
  "IPConfigs":[{"IPAddress":"10.52.0.5","PrefixLength":24}],
  "Routes":[{"NextHop":"10.52.0.1","DestinationPrefix":"0.0.0.0/0"},
            {"NextHop":"10.52.0.1","DestinationPrefix":"10.70.0.0/16","Metric":40}]}'
third='{"NamespaceID":"ns-two","ID":"nic3-guid","MacAddress":"02:00:00:00:02:03",
  "IPConfigs":[{"IPAddress":"10.53.0.5","PrefixLength":24}]}'
veth nic3 $UVM 02:00:00:00:02:03 p3 10.53.0.1/24
out=$(ctl_in $UVM add "$first" add "$second" count ns-two sync ns-two /var/run/netns/$B \
      sync ns-two /var/run/netns/$B add "$third" !sync ns-two /var/run/netns/$A \
      !ns-remove ns-two count ns-two)
expect "both added before sync, third after" "2" "$(sed -n 1p <<<"$out")"
grep -q "expected error: .*previously assigned" <<<"$out" || fail "second target not refused: $out"
grep -q "expected error: .*contains adapters" <<<"$out" || fail "namespace removal not refused: $out"
expect "count after re-sync" "3" "$(tail -n1 <<<"$out")"
expect "sandbox B links" "lo nic1 nic2 nic3" "$(links $B)"
expect "first adapter: main table, plain metric" "default via=10.51.0.1 metric=0 proto=boot" \
    "$(routes $B 4 nic1)"
expect "second adapter: nothing in main" "" "$(routes $B 4 nic2)"
expect "second adapter: table 101, metric 500 (explicit metric kept)" \
    "10.70.0.0/16 via=10.52.0.1 metric=40 proto=boot; default via=10.52.0.1 metric=500 proto=boot" \
    "$(routes $B 4 nic2 101)"
expect "PBR rule" "10.52.0.5/32 table=101" \
    "$(ip -n $B -j rule | jq -r '.[] | select(.priority==5) | "\(.src)/\(.srclen // 32) table=\(.table)"' | xargs)"
expect "third adapter (no PBR flag): main table" "10.53.0.5/24" "$(global_addrs $B nic3)"
ping4 $B 10.52.0.1

# ------------ 2b. the containers code's path: the target is a process's /proc/PID/ns/net
veth nic5 $UVM 02:00:00:00:02:05 p5b 10.57.0.1/24
ip netns exec $D "$busybox" sleep 600 &
holder=$!
# `ip netns exec` enters $D only after it starts: until then /proc/$holder/ns/net is this
# machine's own namespace, and the adapter would move there. Wait until it is $D's.
want_ns=$(stat -L -c %i /var/run/netns/$D)
for _ in $(seq 100); do
    [ "$(stat -L -c %i /proc/$holder/ns/net 2>/dev/null)" = "$want_ns" ] && break
    sleep 0.05
done
[ "$(stat -L -c %i /proc/$holder/ns/net)" = "$want_ns" ] || fail "holder never entered $D"
ctl_in $UVM sync-pid ns-pid $holder \
    add '{"NamespaceID":"ns-pid","ID":"nic5","MacAddress":"02:00:00:00:02:05","IPConfigs":[{"IPAddress":"10.57.0.5","PrefixLength":24}]}'
expect "moved into the process's namespace" "10.57.0.5/24" "$(global_addrs $D nic5)"
ping4 $D 10.57.0.1
kill $holder; wait $holder 2>/dev/null || true; holder=

# ------------------------------------------------ 3. bad input leaves every namespace as it was
veth nic4 $UVM 02:00:00:00:04:01 p4 10.54.0.1/24 fd00:54::1/64
ip -n $UVM link set nic4 up
# Link-local addresses come and go with duplicate address detection: compare the rest.
view='[.[] | {ifname, mtu, flags, global: [.addr_info[] | select(.scope=="global") | .local]}]'
before_uvm=$(ip -n $UVM -j addr show nic4 | jq -c "$view" | sed 's/^\[//; s/\]$//')
before_a=$(ip -n $A -j addr | jq -c "$view")
all_routes() { ip -n "$1" -j route show table all | jq -c .; ip -n "$1" -6 -j route show table all | jq -c '[.[] | select(.dst | startswith("fe80") or startswith("ff00") | not)]'; }
before_a_routes=$(all_routes $A)
bad() { # JSON-fragment: the IPConfigs/Routes part
    printf '{"NamespaceID":"ns-bad","ID":"nic4-guid","MacAddress":"02:00:00:00:04:01","EncapOverhead":100,%s}' "$1"
}
out=$(ctl_in $UVM sync ns-bad /var/run/netns/$A \
  !add "$(bad '"IPConfigs":[{"IPAddress":"10.54.0.300","PrefixLength":24}]')" \
  !add "$(bad '"IPConfigs":[{"IPAddress":"10.54.0.5","PrefixLength":33}]')" \
  !add "$(bad '"IPConfigs":[{"IPAddress":"fd00:54::5","PrefixLength":129}]')" \
  !add "$(bad '"DNSSuffix":"a,b,c,d,e,f,g","IPConfigs":[{"IPAddress":"10.54.0.5","PrefixLength":24}]')" \
  !add "$(bad '"IPConfigs":[{"IPAddress":"10.54.0.5","PrefixLength":24}],"Routes":[{"NextHop":"10.54.0.1","DestinationPrefix":"10.90.0.0/16"},{"NextHop":"224.0.0.5","DestinationPrefix":"172.16.0.0/16"}]')" \
  !add "$(bad '"IPConfigs":[{"IPAddress":"10.54.0.5","PrefixLength":24},{"IPAddress":"fd00:54::5","PrefixLength":64}],"Routes":[{"NextHop":"10.54.0.1","DestinationPrefix":"10.90.0.0/16"},{"NextHop":"fd00:99::1","DestinationPrefix":"2001:db8::/32"}]')" \
  !add "$(bad '"IPConfigs":[{"IPAddress":"10.54.0.5","PrefixLength":24}],"Routes":[{"NextHop":"192.168.77.1","DestinationPrefix":"172.30.0.0/16"},{"NextHop":"192.168.77.1","DestinationPrefix":"172.30.0.0/16"}]')" \
  !add '{"NamespaceID":"ns-bad","ID":"ghost","MacAddress":"02:00:00:00:ff:ff","IPConfigs":[{"IPAddress":"10.9.9.9","PrefixLength":24}]}' \
  count ns-bad)
echo "$out"
grep -q "IPConfigs\[0\].IPAddress: malformed IP \`10.54.0.300\`" <<<"$out" || fail "malformed IP"
grep -q "IPConfigs\[0\].PrefixLength 33 out of range 0..32" <<<"$out" || fail "prefix > 32"
grep -q "IPConfigs\[0\].PrefixLength 129 out of range 0..128" <<<"$out" || fail "prefix > 128"
grep -q "7 DNS search domains, more than 6" <<<"$out" || fail "DNS suffixes"
grep -q "Routes\[1\].NextHop \`224.0.0.5\` is not a unicast address" <<<"$out" || fail "multicast gateway"
grep -q "add route 2001:db8::/32 via fd00:99::1 .*No route to host" <<<"$out" || fail "unreachable v6 gateway"
grep -q "add route 172.30.0.0/16 via 192.168.77.1 metric 0 table 254: File exists" <<<"$out" || fail "duplicate route"
grep -q "no interface for adapter \`ghost\` .*02:00:00:00:ff:ff) within 2000 ms" <<<"$out" || fail "unknown MAC"
expect "no adapter recorded" 0 "$(tail -n1 <<<"$out")"
expect "adapter back in UVM, as it was" "$before_uvm" \
    "$(ip -n $UVM -j addr show nic4 | jq -c "$view" | sed 's/^\[//; s/\]$//')"
expect "sandbox A untouched" "$before_a" "$(ip -n $A -j addr | jq -c "$view")"
expect "sandbox A routes untouched" "$before_a_routes" "$(all_routes $A)"
expect "no rule added" "" "$(ip -n $A -j rule | jq -r '.[] | select(.priority==5) | .src')"

# ---------------------------------------------------- 4. host-network mode: configure in place
veth hnic0 $HOST 02:00:00:00:05:01 p5 10.55.0.1/24
ctl_in $HOST add '{"NamespaceID":"ns-host","ID":"h0","MacAddress":"02:00:00:00:05:01","EncapOverhead":20,
  "IPConfigs":[{"IPAddress":"10.55.0.5","PrefixLength":24}],
  "Routes":[{"NextHop":"10.55.0.1","DestinationPrefix":"10.80.0.0/16","Metric":9}]}' sync-host ns-host
expect "host mode: adapter stays" "hnic0 lo" "$(links $HOST)"
expect "host mode: address" "10.55.0.5/24" "$(global_addrs $HOST hnic0)"
expect "host mode: MTU" 1480 "$(ip -n $HOST -j link show hnic0 | jq '.[0].mtu')"
expect "host mode: route" "10.80.0.0/16 via=10.55.0.1 metric=9 proto=boot" "$(routes $HOST 4 hnic0)"
ping4 $HOST 10.55.0.1

# ------------------------------------------------------------- 5. DHCP (empty IPConfigs)
cat >"$tmp/udhcpd.conf" <<EOF
start 10.56.0.100
end 10.56.0.110
interface p6
lease_file $tmp/udhcpd.leases
pidfile $tmp/udhcpd.pid
option subnet 255.255.255.0
option router 10.56.0.1
static_lease 02:00:00:00:06:01 10.56.0.100
EOF
: >"$tmp/udhcpd.leases"
cat >"$tmp/udhcpc.script" <<'EOF'
#!/bin/sh
# The initrd's /sbin/udhcpc_config.script does the same job with busybox ip.
case "$1" in
deconfig) ip link set "$interface" up; ip addr flush dev "$interface" ;;
bound|renew) ip addr add "$ip/$mask" dev "$interface"
             [ -z "$router" ] || ip route add default via "${router%% *}" dev "$interface" ;;
esac
exit 0
EOF
chmod +x "$tmp/udhcpc.script"
veth dnic0 $UVM 02:00:00:00:06:01 p6 10.56.0.1/24
ip netns exec $PEER "$busybox" udhcpd -f "$tmp/udhcpd.conf" >/dev/null 2>&1 &
udhcpd_pid=$!
dhcp_ctl() { ctl_in $UVM --dhcp-client "$busybox,udhcpc" --dhcp-script "$tmp/udhcpc.script" "$@"; }
dhcp_ctl --dhcp-ms 20000 sync ns-dhcp /var/run/netns/$C \
    add '{"NamespaceID":"ns-dhcp","ID":"d0","MacAddress":"02:00:00:00:06:01"}'
expect "DHCP lease" "10.56.0.100/24" "$(global_addrs $C dnic0)"
expect "DHCP router" "default via=10.56.0.1 metric=0 proto=boot" "$(routes $C 4 dnic0)"
ping4 $C 10.56.0.1
# No event script: refused before anything runs (udhcpc would exit 0 without configuring).
veth dnic2 $UVM 02:00:00:00:06:03 p8
out=$(ctl_in $UVM --dhcp-client "$busybox,udhcpc" --dhcp-script "$tmp/missing.script" \
    sync ns-dhcp3 /var/run/netns/$B !add '{"NamespaceID":"ns-dhcp3","ID":"d2","MacAddress":"02:00:00:00:06:03"}')
grep -q "DHCP on \`dnic2\`: event script \`$tmp/missing.script\`: No such file" <<<"$out" || fail "missing script: $out"
# No server answering: bounded by the timeout, and the adapter goes back to the UVM.
kill "$udhcpd_pid"; wait "$udhcpd_pid" 2>/dev/null || true; udhcpd_pid=
veth dnic1 $UVM 02:00:00:00:06:02 p7
start=$(date +%s)
out=$(dhcp_ctl --dhcp-ms 1500 sync ns-dhcp2 /var/run/netns/$B \
    !add '{"NamespaceID":"ns-dhcp2","ID":"d1","MacAddress":"02:00:00:00:06:02"}')
grep -q "DHCP on \`dnic1\`: no lease within 1500 ms" <<<"$out" || fail "DHCP timeout: $out"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "DHCP timeout not bounded"
expect "adapters back in UVM after DHCP failures" "dnic1 dnic2 lo nic4" "$(links $UVM)"
echo "PASS"
