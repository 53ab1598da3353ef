#!/usr/bin/env bash
# Differential test: the same bundles under ocirun and Debian's runc must give the same
# in-container view (id, capabilities, NoNewPrivs, rlimits, mountinfo, /dev, hostname,
# masked and read-only paths, seccomp denials, cgroup limits read inside, user namespace
# maps, sysctl) and the same exit codes.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/oci_lib.sh"
oci_skip_unless_ready
trap oci_cleanup EXIT
[ -n "${OCI_KEEP:-}" ] && trap - EXIT
oci_make_rootfs "$WORK/rootfs"

sh_args() { jq -n --arg s "$1" '["sh", "-c", $s]'; }

# 1. runc's default spec: identity, capabilities, rlimits, mounts, devices, hostname.
view='id; hostname; grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status; ulimit -n;
cat /proc/self/mountinfo; ls -l /dev /dev/pts; cat /proc/self/cgroup | sed "s/:.*lcow-oci-test-[0-9]*/:CG/";
cat /proc/kcore 2>&1 | head -c 0; test -w /proc/sys && echo sys-writable; echo $$'
oci_bundle "$WORK/default" ".process.args = $(sh_args "$view")"
oci_both default "$WORK/default"

# 2. user, groups, umask, cwd, env, HOME from /etc/passwd.
oci_bundle "$WORK/user" ".root.readonly = false | .process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 63}
  | .process.cwd = \"/home/user\" | .process.env += [\"X=y z\"]
  | .process.args = $(sh_args 'id; umask; pwd; echo "$HOME $X"; touch /tmp/f && ls -ln /tmp/f | cut -c1-30')"
oci_both user "$WORK/user"

# 3. capabilities in all five sets, no_new_privs off.
oci_bundle "$WORK/caps" ".process.noNewPrivileges = false
  | .process.capabilities = {bounding: [\"CAP_CHOWN\", \"CAP_NET_RAW\", \"CAP_SYS_ADMIN\", \"CAP_KILL\"],
      effective: [\"CAP_CHOWN\", \"CAP_NET_RAW\"], permitted: [\"CAP_CHOWN\", \"CAP_NET_RAW\", \"CAP_KILL\"],
      inheritable: [\"CAP_NET_RAW\", \"CAP_KILL\"], ambient: [\"CAP_NET_RAW\"]}
  | .process.args = $(sh_args 'grep -E "^(Cap|NoNewPrivs)" /proc/self/status')"
oci_both caps "$WORK/caps"

# 4. rlimits (below the shell's hard limits: no CAP_SYS_RESOURCE here).
oci_bundle "$WORK/rlimits" ".process.rlimits = [{type: \"RLIMIT_NOFILE\", hard: 200, soft: 100},
    {type: \"RLIMIT_CORE\", hard: 0, soft: 0}, {type: \"RLIMIT_NPROC\", hard: 500, soft: 400},
    {type: \"RLIMIT_STACK\", hard: 16777216, soft: 8388608}]
  | .process.args = $(sh_args 'ulimit -a')"
oci_both rlimits "$WORK/rlimits"

# 5. exit codes: a plain status and a death by signal (128+9).
oci_bundle "$WORK/exit42" ".process.args = $(sh_args 'exit 42')"
oci_both exit42 "$WORK/exit42"
# pid 1 of a pid namespace ignores SIGKILL from inside it: share the host's pid namespace.
oci_bundle "$WORK/killed" ".linux.namespaces |= map(select(.type != \"pid\"))
  | .process.args = $(sh_args 'kill -9 $$')"
oci_both killed "$WORK/killed"
oci_bundle "$WORK/noexec" '.process.args = ["/no/such/binary"]'
oci_both noexec "$WORK/noexec"

# 6. seccomp: an ERRNO rule on mkdir with errnoRet, a default of ALLOW.
oci_bundle "$WORK/seccomp" ".linux.seccomp = {defaultAction: \"SCMP_ACT_ALLOW\",
    syscalls: [{names: [\"mkdir\", \"mkdirat\"], action: \"SCMP_ACT_ERRNO\", errnoRet: 13},
               {names: [\"chdir\"], action: \"SCMP_ACT_ERRNO\"}]}
  | .process.args = $(sh_args 'mkdir /tmp/d; echo mkdir=$?; cd /tmp; echo cd=$?; grep Seccomp: /proc/self/status')"
oci_both seccomp "$WORK/seccomp"

# 6b. the same filter without no_new_privs: it is loaded while CAP_SYS_ADMIN is still held.
oci_bundle "$WORK/seccomp-nnp0" ".process.noNewPrivileges = false | .linux.seccomp = {defaultAction: \"SCMP_ACT_ALLOW\",
    syscalls: [{names: [\"mkdir\", \"mkdirat\"], action: \"SCMP_ACT_ERRNO\", errnoRet: 1}]}
  | .process.args = $(sh_args 'mkdir /tmp/d; echo mkdir=$?; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status')"
oci_both seccomp-nnp0 "$WORK/seccomp-nnp0"

# 7. devices, masked and read-only paths, read-only root, hostname and domainname, sysctl.
oci_bundle "$WORK/paths" ".linux.devices = [{type: \"c\", path: \"/dev/fuse\", major: 10, minor: 229,
      fileMode: 384, uid: 1, gid: 2}, {type: \"b\", path: \"/dev/loopx\", major: 7, minor: 200}]
  | .linux.maskedPaths += [\"/etc/group\", \"/home\"] | .linux.readonlyPaths += [\"/tmp\"]
  | .hostname = \"ctr-host\"
  | .linux.sysctl = {\"net.ipv4.ip_forward\": \"1\", \"kernel.msgmax\": \"4096\"}
  | .process.args = $(sh_args 'ls -ln /dev/fuse /dev/loopx | cut -c1-45; cat /etc/group | wc -c; ls /home;
      touch /tmp/x 2>&1; touch /x 2>&1; hostname; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax')"
oci_both paths "$WORK/paths"

# 8. cgroup limits as read inside the container (v1 files on this host).
oci_bundle "$WORK/cgroup" ".linux.resources = {memory: {limit: 67108864}, pids: {limit: 20},
      cpu: {shares: 512, quota: 50000, period: 100000}}
  | .process.args = $(sh_args 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max
      /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us; ls /sys/fs/cgroup')"
oci_both cgroup "$WORK/cgroup"

# 9. a user namespace with mappings (device nodes are then bind mounts of the host's).
oci_bundle "$WORK/userns" ".linux.namespaces += [{type: \"user\"}]
  | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
  | .process.args = $(sh_args 'cat /proc/self/uid_map /proc/self/gid_map; id; ls -ln /bin/busybox | cut -c1-30;
      ls -l /dev/null | cut -c1-10; grep CapEff /proc/self/status')"
oci_both userns "$WORK/userns"

# 10. rootfsPropagation and a bind mount with options, relative source.
mkdir -p "$WORK/bindsrc" && echo hello >"$WORK/bindsrc/file"
oci_bundle "$WORK/bind" ".linux.rootfsPropagation = \"rslave\"
  | .mounts += [{destination: \"/mnt/data\", type: \"bind\", source: \"$WORK/bindsrc\", options: [\"rbind\", \"ro\", \"nosuid\"]},
                {destination: \"/run\", type: \"tmpfs\", source: \"tmpfs\", options: [\"nodev\", \"size=1m\", \"mode=700\"]}]
  | .process.args = $(sh_args 'cat /mnt/data/file; touch /mnt/data/x 2>&1; grep -E " /(mnt/data|run|) " /proc/self/mountinfo')"
oci_both bind "$WORK/bind"

# 10b. tmpcopyup: a tmpfs over an image directory starts with its contents (owners, modes,
# symlinks kept), and writes stay in the tmpfs.
mkdir -p "$WORK/rootfs/opt/cu/sub" && echo one >"$WORK/rootfs/opt/cu/a" && ln -sf a "$WORK/rootfs/opt/cu/l"
chown 1000:10 "$WORK/rootfs/opt/cu/a" && chmod 640 "$WORK/rootfs/opt/cu/a" && chmod 1750 "$WORK/rootfs/opt/cu/sub"
oci_bundle "$WORK/copyup" ".mounts += [{destination: \"/opt/cu\", type: \"tmpfs\", source: \"tmpfs\", options: [\"tmpcopyup\", \"mode=755\"]}]
  | .process.args = $(sh_args 'ls -lna /opt/cu | cut -c1-34,47-; cat /opt/cu/l; echo two >/opt/cu/b && ls /opt/cu; grep " /opt/cu " /proc/self/mountinfo | cut -d" " -f5,9')"
oci_both copyup "$WORK/copyup"
oci_check "tmpcopyup left the image untouched" bash -c "[ ! -e '$WORK/rootfs/opt/cu/b' ]"

# 11. recursive mount attributes and oomScoreAdj (raising it needs no CAP_SYS_RESOURCE).
oci_bundle "$WORK/rattr" ".process.oomScoreAdj = 321
  | .mounts += [{destination: \"/mnt/r\", type: \"bind\", source: \"$WORK/bindsrc\", options: [\"rbind\", \"rro\", \"rnosuid\", \"rnodev\", \"rnoexec\"]}]
  | .process.args = $(sh_args 'cat /proc/self/oom_score_adj; touch /mnt/r/x 2>&1; grep " /mnt/r " /proc/self/mountinfo')"
oci_both rattr "$WORK/rattr"

# 11b. a cgroup namespace: entered after the cgroup is joined, so the container sees "/".
oci_bundle "$WORK/cgns" ".linux.namespaces += [{type: \"cgroup\"}]
  | .process.args = $(sh_args 'cat /proc/self/cgroup; grep cgroup /proc/self/mountinfo | cut -d" " -f4,5')"
oci_both cgns "$WORK/cgns"

# 12. joining namespaces by path: a second container enters the first one's pid, net, ipc and
# uts namespaces (the pid namespace needs the extra fork).
oci_join() {
  local rt=$1 root=$2 name=$3 pid
  oci_bundle "$WORK/$name-a" '.hostname = "shared-host" | .process.args = ["sleep", "100"]'
  (cd "$WORK/$name-a" && $rt --root "$root" run -d "$name-a") || return 1
  pid=$($rt --root "$root" state "$name-a" | jq .pid)
  oci_bundle "$WORK/$name-b" ".linux.namespaces = [{type: \"mount\"},
      {type: \"pid\", path: \"/proc/$pid/ns/pid\"}, {type: \"network\", path: \"/proc/$pid/ns/net\"},
      {type: \"ipc\", path: \"/proc/$pid/ns/ipc\"}, {type: \"uts\", path: \"/proc/$pid/ns/uts\"}]
    | del(.hostname) | .process.args = $(sh_args 'hostname; ps -o args | grep -c "^sleep 100"; test $$ != 1 && echo not-pid-1')"
  (cd "$WORK/$name-b" && $rt --root "$root" run "$name-b") >"$WORK/$name.out" 2>&1
  echo "rc=$?" >>"$WORK/$name.out"
  $rt --root "$root" delete --force "$name-a"
}
oci_join "$OCIRUN" "$OCI_ROOT" join
cp "$WORK/join.out" "$WORK/join.ocirun"
oci_join runc "$RUNC_ROOT" join
oci_check "joining pid/net/ipc/uts namespaces by path matches runc" \
  diff -u "$WORK/join.out" "$WORK/join.ocirun"
oci_check "the joined container saw the first one's hostname and process" \
  grep -qx "shared-host" "$WORK/join.ocirun"

oci_finish
