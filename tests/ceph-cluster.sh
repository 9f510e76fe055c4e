#!/usr/bin/env bash
# A throwaway single-node Ceph cluster on 127.0.0.1 for tests and for trying the ceph driver by hand:
# one mon and one memstore OSD (no mgr), everything under DIR, its own ports, no DNS lookups.
#
#   tests/ceph-cluster.sh start DIR [PORT]   starts it; prints the path of DIR/ceph.conf (the file to
#                                            pass as CEPH_CONF); mon on PORT (v2) and PORT+1 (v1),
#                                            daemons on PORT+2..PORT+40. PORT defaults to a free range below
#                                            the ephemeral ports, retried on another if taken.
#   tests/ceph-cluster.sh stop DIR           stops the daemons by the PIDs in their pid files and
#                                            removes DIR. Safe to run twice, or after a failed start.
#
# The OSD keeps its data in memory (memstore, 2 GiB): nothing outlives stop.
set -euo pipefail

usage() { echo "usage: $0 start DIR [PORT] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1 dir=$2

stop_cluster() {
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    local f pid
    # An rbd-fuse a failed test left mapped on this cluster would hang once the monitors are gone:
    # found by its config file in its command line, stopped by its pid.
    for f in /proc/[0-9]*; do
        [ "$(cat "$f/comm" 2>/dev/null)" = rbd-fuse ] || continue
        tr '\0' '\n' < "$f/cmdline" 2>/dev/null | grep -qxF "$dir/ceph.conf" || continue
        echo "ceph-cluster.sh: stopping rbd-fuse ${f#/proc/}, left mapped on $dir" >&2
        kill -TERM "${f#/proc/}" 2>/dev/null || true
    done
    # Kernel RBD mappings (/dev/rbdN) a failed test left on this cluster, found by the cluster's fsid,
    # are unmapped while the daemons still answer (forced: a lazily unmounted filesystem may hold one).
    local fsid id
    fsid=$(sed -n 's/^fsid = //p' "$dir/ceph.conf" 2>/dev/null || true)
    if [ -n "$fsid" ] && [ -d /sys/bus/rbd/devices ]; then
        for f in /sys/bus/rbd/devices/*; do
            [ "$(cat "$f/cluster_fsid" 2>/dev/null)" = "$fsid" ] || continue
            id=${f##*/}
            echo "ceph-cluster.sh: unmapping /dev/rbd$id, left mapped on $dir" >&2
            echo "$id force" > /sys/bus/rbd/remove 2>/dev/null || true
        done
    fi
    for f in "$dir"/run/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        [[ "$pid" =~ ^[0-9]+$ ]] || continue
        case "$(cat "/proc/$pid/comm" 2>/dev/null || true)" in ceph-mon|ceph-osd) kill -TERM "$pid" ;; *) continue ;; esac
        for _ in $(seq 100); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
        [ -e "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$dir"
}

# A range of 41 ports no socket uses, in any state, below the kernel's ephemeral range: a port in
# that range can be any outgoing connection's local port (CI once lost the mon's bind to one that
# `ss -l` could not see). Starts after $1 when given.
free_port() {
    local p low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
    for ((p = ${1:-20000}; p + 40 < low; p += 50)); do
        if ! ss -Hatn "sport >= :$p and sport <= :$((p + 40))" 2>/dev/null | grep -q .; then echo "$p"; return; fi
    done
    echo "no free port range for ceph below $low" >&2; return 1
}

start_cluster() {
    local port=${1:-$(free_port)}
    [ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || { echo "$dir is not empty" >&2; exit 1; }
    mkdir -p "$dir"/{run,log,mon,osd}
    dir=$(cd "$dir" && pwd)
    local conf=$dir/ceph.conf fsid classes
    # Debian 13's ceph 18 defaults osd_class_dir to a relative path: name the object classes' directory.
    classes=$(dirname "$(ls /usr/lib/*/rados-classes/libcls_rbd.so /usr/lib/rados-classes/libcls_rbd.so 2>/dev/null | head -n 1)")
    fsid=$(cat /proc/sys/kernel/random/uuid)
    cat > "$conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
ms_bind_port_min = $((port + 2))
ms_bind_port_max = $((port + 40))
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $dir/\$cluster.\$name.keyring
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
mon_data = $dir/mon/\$id
osd_data = $dir/osd/\$id
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
osd_objectstore = memstore
osd_class_dir = $classes
memstore_device_bytes = 2147483648
osd_max_object_name_len = 256
osd_max_object_namespace_len = 64
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
mon_osd_min_up_ratio = 0
osd_crush_chooseleaf_type = 0
[mon]
keyring = $dir/mon/\$id/keyring
[client]
admin_socket =
log_file =
EOF
    ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$dir/ceph.client.admin.keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/ceph.client.admin.keyring" >/dev/null
    monmaptool -c "$conf" --create --clobber --fsid "$fsid" \
        --addv a "[v2:127.0.0.1:$port,v1:127.0.0.1:$((port + 1))]" "$dir/monmap" >/dev/null
    ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" >&2
    ceph-mon -c "$conf" -i a >&2
    local uuid id
    uuid=$(cat /proc/sys/kernel/random/uuid)
    id=$(timeout 30 ceph -c "$conf" osd new "$uuid")
    mkdir -p "$dir/osd/$id"
    ceph-authtool --create-keyring "$dir/ceph.osd.$id.keyring" --gen-key -n "osd.$id" >/dev/null
    timeout 30 ceph -c "$conf" auth add "osd.$id" osd 'allow *' mon 'allow profile osd' -i "$dir/ceph.osd.$id.keyring" 2>/dev/null
    ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" 2>/dev/null
    ceph-osd -c "$conf" -i "$id" 2>/dev/null
    local n
    for n in $(seq 300); do
        if timeout 10 ceph -c "$conf" osd dump -f json 2>/dev/null | grep -q '"up":1'; then
            echo "$conf"
            return 0
        fi
        sleep 0.1
    done
    echo "the ceph OSD did not come up within 30 s; see $dir/log" >&2
    exit 1
}

case $cmd in
    start)
        trap 'rc=$?; [ $rc -eq 0 ] || stop_cluster; exit $rc' EXIT
        if [ -n "${3:-}" ]; then
            start_cluster "$3"
        else
            # A free range can still be taken between the check and the mon's bind: up to 5 ranges.
            port=19950
            for attempt in 1 2 3 4 5; do
                port=$(free_port $((port + 50)))
                set +e; (set -e; start_cluster "$port"); rc=$?; set -e
                [ $rc -ne 0 ] || break
                [ $attempt -lt 5 ] || exit $rc
                echo "ceph-cluster.sh: no cluster on port $port; trying the next free range" >&2
                stop_cluster
            done
        fi
        trap - EXIT ;;
    stop) stop_cluster ;;
    *) usage ;;
esac
