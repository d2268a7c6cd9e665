#!/bin/sh
# gpu5: the KV-cache network kvcache on this server, rendered by hpnctl from pd-inference.yml.
# KV transfers use class kvcache: DSCP 10, ToS 40, priority 3
# (UCX_IB_TRAFFIC_CLASS in kvcache.env; RDMA-CM connections get it as the device's default ToS below).
# Only the KV-cache prefixes leave through the KV-cache NIC; replies sourced from its address use
# table 100, so they never take a compute NIC.
set -eu
SYSFS=${HPNCTL_SYSFS:-/sys}
CONFIGFS=${HPNCTL_CONFIGFS:-/sys/kernel/config}

default_tos() {  # rdma-device tos: MLNX_OFED sysfs, else the upstream rdma_cm configfs (default_roce_tos)
    if [ -e "$SYSFS/class/infiniband/$1/tc/1/traffic_class" ]; then
        echo "$2" > "$SYSFS/class/infiniband/$1/tc/1/traffic_class"
    elif [ -d "$CONFIGFS/rdma_cm" ]; then
        mkdir -p "$CONFIGFS/rdma_cm/$1"
        echo "$2" > "$CONFIGFS/rdma_cm/$1/ports/1/default_roce_tos"
    else
        echo "kvcache-net: $1: no RDMA-CM default ToS knob; set UCX_IB_TRAFFIC_CLASS (kvcache.env)" >&2
    fi
}

# --- eth9 (mlx5_8) to kv-leaf2:Ethernet0
ip link set dev eth9 mtu 4200 up
ip addr replace 10.10.0.9/31 dev eth9
ip route replace 10.10.0.0/24 via 10.10.0.8 dev eth9
ip route replace default via 10.10.0.8 dev eth9 table 100
ip rule del from 10.10.0.9/32 table 100 2>/dev/null || true
ip rule add from 10.10.0.9/32 table 100
default_tos mlx5_8 40
exit 0
