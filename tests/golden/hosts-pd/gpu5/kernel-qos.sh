#!/bin/sh
# gpu5: the NICs' DSCP classification and ETS in the kernel (tc HTB + u32), rendered by hpnctl from pd-inference.yml.
# For where nic-qos.sh cannot act: a lab network namespace, a veth, a NIC without DCB offload, and
# the server's own kernel (non-RDMA) traffic.  DSCP → priority as on the switches; class 1:1<priority>
# carries one priority: strict priorities are HTB prio 0 at line rate, ETS shares HTB prio 1 with
# their share as rate.  Not here: PFC, CNPs and DCQCN live in the NIC (nic-qos.sh).
# Re-running it rebuilds each port's qdisc tree from scratch.
set -eu

port() {  # netdev mtu rate_mbit default_minor
    ip link set dev "$1" mtu "$2"
    tc qdisc del dev "$1" root 2>/dev/null || true
    tc qdisc add dev "$1" root handle 1: htb default "$4"
    tc class add dev "$1" parent 1: classid 1:1 htb rate "$3mbit" ceil "$3mbit" quantum 200000
}

# --- eth1 (network compute, 400000 Mb/s)
port eth1 4200 400000 10
tc class add dev eth1 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth1 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth1 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth1 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth1 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth1 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth1 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth2 (network compute, 400000 Mb/s)
port eth2 4200 400000 10
tc class add dev eth2 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth2 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth2 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth2 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth2 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth2 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth2 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth3 (network compute, 400000 Mb/s)
port eth3 4200 400000 10
tc class add dev eth3 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth3 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth3 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth3 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth3 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth3 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth3 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth4 (network compute, 400000 Mb/s)
port eth4 4200 400000 10
tc class add dev eth4 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth4 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth4 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth4 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth4 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth4 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth4 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth5 (network compute, 400000 Mb/s)
port eth5 4200 400000 10
tc class add dev eth5 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth5 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth5 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth5 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth5 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth5 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth5 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth6 (network compute, 400000 Mb/s)
port eth6 4200 400000 10
tc class add dev eth6 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth6 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth6 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth6 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth6 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth6 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth6 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth7 (network compute, 400000 Mb/s)
port eth7 4200 400000 10
tc class add dev eth7 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth7 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth7 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth7 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth7 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth7 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth7 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth8 (network compute, 400000 Mb/s)
port eth8 4200 400000 10
tc class add dev eth8 parent 1:1 classid 1:10 htb rate 80000mbit ceil 400000mbit prio 1 quantum 30280  # priority 0: default
tc class add dev eth8 parent 1:1 classid 1:13 htb rate 320000mbit ceil 400000mbit prio 1 quantum 121120  # priority 3: allreduce
tc class add dev eth8 parent 1:1 classid 1:14 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 4: alltoall
tc class add dev eth8 parent 1:1 classid 1:16 htb rate 400000mbit ceil 400000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth8 parent 1: protocol ip prio 10 u32 match ip tos 0x68 0xfc flowid 1:13  # DSCP 26
tc filter add dev eth8 parent 1: protocol ip prio 10 u32 match ip tos 0x88 0xfc flowid 1:14  # DSCP 34
tc filter add dev eth8 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48

# --- eth9 (network kvcache, 200000 Mb/s)
port eth9 4200 200000 10
tc class add dev eth9 parent 1:1 classid 1:10 htb rate 20000mbit ceil 200000mbit prio 1 quantum 15140  # priority 0: default
tc class add dev eth9 parent 1:1 classid 1:13 htb rate 180000mbit ceil 200000mbit prio 1 quantum 136260  # priority 3: kvcache
tc class add dev eth9 parent 1:1 classid 1:16 htb rate 200000mbit ceil 200000mbit prio 0 quantum 151400  # priority 6: cnp
tc filter add dev eth9 parent 1: protocol ip prio 10 u32 match ip tos 0x28 0xfc flowid 1:13  # DSCP 10
tc filter add dev eth9 parent 1: protocol ip prio 10 u32 match ip tos 0xc0 0xfc flowid 1:16  # DSCP 48
exit 0
