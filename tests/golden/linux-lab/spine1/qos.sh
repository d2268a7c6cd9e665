#!/bin/sh
# spine1: QoS of the Linux data plane, rendered by hpnctl from the fabric intent.
# Enforced here: DSCP classification, strict/DWRR scheduling (HTB), per-class
# queue limits, ECN marking (RED) where the kernel has sch_red.
# Not enforceable by the kernel: PFC, PFC watchdog, adaptive routing.
# Re-running it rebuilds the port's qdisc tree from scratch (same result every time).
set -eu
HPNCTL_QOS_WARN=0

red_or_fifo() {  # dev parent handle limit min max burst avpkt probability rate_mbit
    if tc qdisc add dev "$1" parent "$2" handle "$3" red limit "$4" min "$5" max "$6" burst "$7" \
        avpkt "$8" probability "$9" ecn bandwidth "${10}mbit" 2>/dev/null; then
        return 0
    fi
    echo "hpnctl-qos: WARNING: kernel lacks sch_red: ECN marking not enforced on $1 class $2" >&2
    HPNCTL_QOS_WARN=1
    tc qdisc add dev "$1" parent "$2" handle "$3" bfifo limit "$4"
}

port() {  # dev mtu rate_mbit
    ip link set dev "$1" mtu "$2"
    tc qdisc del dev "$1" root 2>/dev/null || true
    tc qdisc add dev "$1" root handle 1: htb default 10
    tc class add dev "$1" parent 1: classid 1:1 htb rate "$3mbit" ceil "$3mbit" quantum 200000
}

# --- eth1 (100000 Mb/s)
port eth1 9100 100000
tc class add dev eth1 parent 1:1 classid 1:10 htb rate 40000mbit ceil 100000mbit prio 1 quantum 60560  # default
tc qdisc add dev eth1 parent 1:10 handle 10: bfifo limit 6720000
tc class add dev eth1 parent 1:1 classid 1:13 htb rate 60000mbit ceil 100000mbit prio 1 quantum 90840  # allreduce
red_or_fifo eth1 1:13 13: 6848000 125000 500000 166 1500 0.2 100000
tc class add dev eth1 parent 1:1 classid 1:14 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # alltoall
tc qdisc add dev eth1 parent 1:14 handle 14: bfifo limit 11264000
tc class add dev eth1 parent 1:1 classid 1:16 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # cnp
tc qdisc add dev eth1 parent 1:16 handle 16: bfifo limit 6720000
tc filter add dev eth1 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth1 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth1 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth2 (100000 Mb/s)
port eth2 9100 100000
tc class add dev eth2 parent 1:1 classid 1:10 htb rate 40000mbit ceil 100000mbit prio 1 quantum 60560  # default
tc qdisc add dev eth2 parent 1:10 handle 10: bfifo limit 6720000
tc class add dev eth2 parent 1:1 classid 1:13 htb rate 60000mbit ceil 100000mbit prio 1 quantum 90840  # allreduce
red_or_fifo eth2 1:13 13: 6848000 125000 500000 166 1500 0.2 100000
tc class add dev eth2 parent 1:1 classid 1:14 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # alltoall
tc qdisc add dev eth2 parent 1:14 handle 14: bfifo limit 11264000
tc class add dev eth2 parent 1:1 classid 1:16 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # cnp
tc qdisc add dev eth2 parent 1:16 handle 16: bfifo limit 6720000
tc filter add dev eth2 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth2 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth2 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth3 (100000 Mb/s)
port eth3 9100 100000
tc class add dev eth3 parent 1:1 classid 1:10 htb rate 40000mbit ceil 100000mbit prio 1 quantum 60560  # default
tc qdisc add dev eth3 parent 1:10 handle 10: bfifo limit 6720000
tc class add dev eth3 parent 1:1 classid 1:13 htb rate 60000mbit ceil 100000mbit prio 1 quantum 90840  # allreduce
red_or_fifo eth3 1:13 13: 6848000 125000 500000 166 1500 0.2 100000
tc class add dev eth3 parent 1:1 classid 1:14 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # alltoall
tc qdisc add dev eth3 parent 1:14 handle 14: bfifo limit 11264000
tc class add dev eth3 parent 1:1 classid 1:16 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # cnp
tc qdisc add dev eth3 parent 1:16 handle 16: bfifo limit 6720000
tc filter add dev eth3 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth3 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth3 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth4 (100000 Mb/s)
port eth4 9100 100000
tc class add dev eth4 parent 1:1 classid 1:10 htb rate 40000mbit ceil 100000mbit prio 1 quantum 60560  # default
tc qdisc add dev eth4 parent 1:10 handle 10: bfifo limit 6720000
tc class add dev eth4 parent 1:1 classid 1:13 htb rate 60000mbit ceil 100000mbit prio 1 quantum 90840  # allreduce
red_or_fifo eth4 1:13 13: 6848000 125000 500000 166 1500 0.2 100000
tc class add dev eth4 parent 1:1 classid 1:14 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # alltoall
tc qdisc add dev eth4 parent 1:14 handle 14: bfifo limit 11264000
tc class add dev eth4 parent 1:1 classid 1:16 htb rate 100000mbit ceil 100000mbit prio 0 quantum 151400  # cnp
tc qdisc add dev eth4 parent 1:16 handle 16: bfifo limit 6720000
tc filter add dev eth4 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth4 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth4 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

exit 0
