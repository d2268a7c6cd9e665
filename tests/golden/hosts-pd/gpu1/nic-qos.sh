#!/bin/sh
# gpu1: NIC QoS and DCQCN of the RDMA NICs, rendered by hpnctl from pd-inference.yml (fabric pd-inference).
#
# Per NIC, from the switch side of the same intent: trust DSCP, the switches' DSCP → priority map
# (a NIC priority is a switch TC), PFC on the switches' lossless priorities, strict/ETS per priority
# as the switches schedule the classes, the CNP DSCP/priority, and the DCQCN reaction-point (rp) and
# notification-point (np) parameters of the network's profile on the priorities whose queue marks ECN.
#
# Tools: mlnx_qos (MLNX_OFED / mlnx-tools); the MLNX_OFED ECN sysfs /sys/class/net/<if>/ecn/roce_rp|roce_np,
# else the upstream debugfs /sys/kernel/debug/mlx5/<pci>/cc_params (drivers/infiniband/hw/mlx5/cong.c);
# with --persist also the firmware defaults with mlxconfig (<NAME>_P1; active after a firmware reset or reboot).
# Parameter defaults and units: NVIDIA DOCA "DCQCN CC Parameters", summarised in
# ../shared/reference/dcqcn-pfc-hpn-numbers.md §1 (times µs, rates Mb/s, alpha /1024, min_dec_fac %).
#
# Usage: sh nic-qos.sh [--persist]
set -eu
PERSIST=0
[ "${1:-}" = "--persist" ] && PERSIST=1
SYSFS=${HPNCTL_SYSFS:-/sys}
DEBUGFS=${HPNCTL_DEBUGFS:-/sys/kernel/debug}

pci_of() {  # netdev → PCI function of the NIC
    basename "$(readlink -f "$SYSFS/class/net/$1/device")"
}

dscp2prio() {  # netdev dscp,priority ...
    dev=$1
    shift
    for pair in "$@"; do
        mlnx_qos -i "$dev" --dscp2prio "set,$pair" >/dev/null
    done
}

cc_target() {  # netdev: where its DCQCN knobs live (MLNX_OFED sysfs, else upstream debugfs)
    if [ -d "$SYSFS/class/net/$1/ecn" ]; then
        CC_KIND=sysfs
        CC_DIR="$SYSFS/class/net/$1/ecn"
    elif [ -d "$DEBUGFS/mlx5/$(pci_of "$1")/cc_params" ]; then
        CC_KIND=debugfs
        CC_DIR="$DEBUGFS/mlx5/$(pci_of "$1")/cc_params"
    else
        CC_KIND=none
        CC_DIR=
        echo "nic-qos: $1: neither ECN sysfs nor cc_params debugfs: DCQCN parameters not set (run with --persist)" >&2
    fi
}

cc_set() {  # roce_rp|roce_np sysfs-name debugfs-name value (for the NIC of the last cc_target)
    case $CC_KIND in
        sysfs)
            if [ -e "$CC_DIR/$1/params/$2" ]; then echo "$4" > "$CC_DIR/$1/params/$2"; else echo "$4" > "$CC_DIR/$1/$2"; fi ;;
        debugfs)
            echo "$4" > "$CC_DIR/$3" ;;
    esac
}

cc_enable() {  # netdev priorities (comma list, may be empty): DCQCN on exactly these priorities
    if [ ! -d "$SYSFS/class/net/$1/ecn/roce_rp/enable" ]; then
        echo "nic-qos: $1: no per-priority ECN sysfs: DCQCN priorities need --persist (ROCE_CC_PRIO_MASK_P1)" >&2
        return 0
    fi
    for point in roce_rp roce_np; do
        for p in 0 1 2 3 4 5 6 7; do
            case ",$2," in
                *",$p,"*) echo 1 > "$SYSFS/class/net/$1/ecn/$point/enable/$p" ;;
                *) echo 0 > "$SYSFS/class/net/$1/ecn/$point/enable/$p" ;;
            esac
        done
    done
}

# ---------------------------------------------------------------- network compute (compute): connectx-7, 8 NIC(s)
# class default: DSCP default → priority 0, ETS 20%, lossy, ECN off, DCQCN off
# class allreduce: DSCP 26 → priority 3, ETS 80%, lossless, ECN on, DCQCN on
# class alltoall: DSCP 34 → priority 4, strict, lossless, ECN off, DCQCN off
# class cnp: DSCP 48 → priority 6, strict, lossy, ECN off, DCQCN off
qos_net1() {  # netdev
    ip link set dev "$1" mtu 4200
    mlnx_qos -i "$1" --trust dscp
    dscp2prio "$1" 0,0 1,0 2,0 3,0 4,0 5,0 6,0 7,0 8,0 9,0 10,0 11,0 12,0 13,0 14,0 15,0 16,0 17,0 18,0 19,0 20,0 21,0 22,0 23,0 24,0 25,0 26,3 27,0 28,0 29,0 30,0 31,0 32,0 33,0 34,4 35,0 36,0 37,0 38,0 39,0 40,0 41,0 42,0 43,0 44,0 45,0 46,0 47,0 48,6 49,0 50,0 51,0 52,0 53,0 54,0 55,0 56,0 57,0 58,0 59,0 60,0 61,0 62,0 63,0
    mlnx_qos -i "$1" --pfc 0,0,0,1,1,0,0,0
    mlnx_qos -i "$1" --prio_tc 0,1,2,3,4,5,6,7 --tsa ets,ets,ets,ets,strict,ets,strict,ets --tcbw 20,0,0,80,0,0,0,0
    mlnx_qos -i "$1" --cable_len 10
    # CNPs (notification point): DSCP 48, priority 6
    cc_target "$1"
    cc_set roce_np cnp_dscp np_cnp_dscp 48
    cc_set roce_np cnp_802p_prio np_cnp_prio 6
    # DCQCN profile ignore-microbursts on priorities 3 (allreduce)
    cc_set roce_rp clamp_tgt_rate rp_clamp_tgt_rate 0  # bool: clamp the target rate to the current rate on a CNP
    cc_set roce_rp clamp_tgt_rate_after_time_inc rp_clamp_tgt_rate_ati 1  # bool: clamp after a timer increase
    cc_set roce_rp rpg_time_reset rp_time_reset 300  # us: rate-increase timer
    cc_set roce_rp rpg_byte_reset rp_byte_reset 32767  # bytes: rate-increase byte counter (0 = off)
    cc_set roce_rp rpg_threshold rp_threshold 1  # count: fast-recovery stages
    cc_set roce_rp rpg_max_rate rp_max_rate 0  # Mb/s: rate cap (0 = none)
    cc_set roce_rp rpg_ai_rate rp_ai_rate 5  # Mb/s: additive increase
    cc_set roce_rp rpg_hai_rate rp_hai_rate 50  # Mb/s: hyper additive increase
    cc_set roce_rp rpg_gd rp_gd 11  # coefficient: alpha → rate-cut coefficient
    cc_set roce_rp rpg_min_dec_fac rp_min_dec_fac 80  # %: one cut keeps at least this share of the rate
    cc_set roce_rp rpg_min_rate rp_min_rate 1  # Mb/s: rate floor
    cc_set roce_rp rate_to_set_on_first_cnp rp_rate_to_set_on_first_cnp 0  # Mb/s: rate on the first CNP (0 = normal cut)
    cc_set roce_rp dce_tcp_g rp_dce_tcp_g 1019  # /1024: alpha gain
    cc_set roce_rp dce_tcp_rtt rp_dce_tcp_rtt 1  # us: alpha update period
    cc_set roce_rp rate_reduce_monitor_period rp_rate_reduce_monitor_period 10  # us: at most one cut per period
    cc_set roce_rp initial_alpha_value rp_initial_alpha_value 1023  # /1024: alpha on the first CNP
    cc_set roce_np min_time_between_cnps np_min_time_between_cnps 10  # us: at most one CNP per period
    cc_enable "$1" "3"
    if [ "$PERSIST" = 1 ]; then
        mlxconfig -y -d "$(pci_of "$1")" set ROCE_CC_PRIO_MASK_P1=8 CNP_DSCP_P1=48 CNP_802P_PRIO_P1=6 \
            CLAMP_TGT_RATE_P1=0 \
            CLAMP_TGT_RATE_AFTER_TIME_INC_P1=1 \
            RPG_TIME_RESET_P1=300 \
            RPG_BYTE_RESET_P1=32767 \
            RPG_THRESHOLD_P1=1 \
            RPG_MAX_RATE_P1=0 \
            RPG_AI_RATE_P1=5 \
            RPG_HAI_RATE_P1=50 \
            RPG_GD_P1=11 \
            RPG_MIN_DEC_FAC_P1=80 \
            RPG_MIN_RATE_P1=1 \
            RATE_TO_SET_ON_FIRST_CNP_P1=0 \
            DCE_TCP_G_P1=1019 \
            DCE_TCP_RTT_P1=1 \
            RATE_REDUCE_MONITOR_PERIOD_P1=10 \
            INITIAL_ALPHA_VALUE_P1=1023 \
            MIN_TIME_BETWEEN_CNPS_P1=10
    fi
}
qos_net1 eth1  # mlx5_0 to leaf-g1-r1:Ethernet0
qos_net1 eth2  # mlx5_1 to leaf-g1-r2:Ethernet0
qos_net1 eth3  # mlx5_2 to leaf-g1-r3:Ethernet0
qos_net1 eth4  # mlx5_3 to leaf-g1-r4:Ethernet0
qos_net1 eth5  # mlx5_4 to leaf-g1-r5:Ethernet0
qos_net1 eth6  # mlx5_5 to leaf-g1-r6:Ethernet0
qos_net1 eth7  # mlx5_6 to leaf-g1-r7:Ethernet0
qos_net1 eth8  # mlx5_7 to leaf-g1-r8:Ethernet0

# ---------------------------------------------------------------- network kvcache (kvcache): connectx-7, 1 NIC(s)
# class default: DSCP default → priority 0, ETS 10%, lossy, ECN off, DCQCN off
# class kvcache: DSCP 10 → priority 3, ETS 90%, lossless, ECN on, DCQCN on
# class cnp: DSCP 48 → priority 6, strict, lossy, ECN off, DCQCN off
qos_net2() {  # netdev
    ip link set dev "$1" mtu 4200
    mlnx_qos -i "$1" --trust dscp
    dscp2prio "$1" 0,0 1,0 2,0 3,0 4,0 5,0 6,0 7,0 8,0 9,0 10,3 11,0 12,0 13,0 14,0 15,0 16,0 17,0 18,0 19,0 20,0 21,0 22,0 23,0 24,0 25,0 26,0 27,0 28,0 29,0 30,0 31,0 32,0 33,0 34,0 35,0 36,0 37,0 38,0 39,0 40,0 41,0 42,0 43,0 44,0 45,0 46,0 47,0 48,6 49,0 50,0 51,0 52,0 53,0 54,0 55,0 56,0 57,0 58,0 59,0 60,0 61,0 62,0 63,0
    mlnx_qos -i "$1" --pfc 0,0,0,1,0,0,0,0
    mlnx_qos -i "$1" --prio_tc 0,1,2,3,4,5,6,7 --tsa ets,ets,ets,ets,ets,ets,strict,ets --tcbw 10,0,0,90,0,0,0,0
    mlnx_qos -i "$1" --cable_len 5
    # CNPs (notification point): DSCP 48, priority 6
    cc_target "$1"
    cc_set roce_np cnp_dscp np_cnp_dscp 48
    cc_set roce_np cnp_802p_prio np_cnp_prio 6
    # DCQCN profile nvidia-default on priorities 3 (kvcache)
    cc_set roce_rp clamp_tgt_rate rp_clamp_tgt_rate 0  # bool: clamp the target rate to the current rate on a CNP
    cc_set roce_rp clamp_tgt_rate_after_time_inc rp_clamp_tgt_rate_ati 1  # bool: clamp after a timer increase
    cc_set roce_rp rpg_time_reset rp_time_reset 300  # us: rate-increase timer
    cc_set roce_rp rpg_byte_reset rp_byte_reset 32767  # bytes: rate-increase byte counter (0 = off)
    cc_set roce_rp rpg_threshold rp_threshold 1  # count: fast-recovery stages
    cc_set roce_rp rpg_max_rate rp_max_rate 0  # Mb/s: rate cap (0 = none)
    cc_set roce_rp rpg_ai_rate rp_ai_rate 5  # Mb/s: additive increase
    cc_set roce_rp rpg_hai_rate rp_hai_rate 50  # Mb/s: hyper additive increase
    cc_set roce_rp rpg_gd rp_gd 11  # coefficient: alpha → rate-cut coefficient
    cc_set roce_rp rpg_min_dec_fac rp_min_dec_fac 50  # %: one cut keeps at least this share of the rate
    cc_set roce_rp rpg_min_rate rp_min_rate 1  # Mb/s: rate floor
    cc_set roce_rp rate_to_set_on_first_cnp rp_rate_to_set_on_first_cnp 0  # Mb/s: rate on the first CNP (0 = normal cut)
    cc_set roce_rp dce_tcp_g rp_dce_tcp_g 1019  # /1024: alpha gain
    cc_set roce_rp dce_tcp_rtt rp_dce_tcp_rtt 1  # us: alpha update period
    cc_set roce_rp rate_reduce_monitor_period rp_rate_reduce_monitor_period 4  # us: at most one cut per period
    cc_set roce_rp initial_alpha_value rp_initial_alpha_value 1023  # /1024: alpha on the first CNP
    cc_set roce_np min_time_between_cnps np_min_time_between_cnps 4  # us: at most one CNP per period
    cc_enable "$1" "3"
    if [ "$PERSIST" = 1 ]; then
        mlxconfig -y -d "$(pci_of "$1")" set ROCE_CC_PRIO_MASK_P1=8 CNP_DSCP_P1=48 CNP_802P_PRIO_P1=6 \
            CLAMP_TGT_RATE_P1=0 \
            CLAMP_TGT_RATE_AFTER_TIME_INC_P1=1 \
            RPG_TIME_RESET_P1=300 \
            RPG_BYTE_RESET_P1=32767 \
            RPG_THRESHOLD_P1=1 \
            RPG_MAX_RATE_P1=0 \
            RPG_AI_RATE_P1=5 \
            RPG_HAI_RATE_P1=50 \
            RPG_GD_P1=11 \
            RPG_MIN_DEC_FAC_P1=50 \
            RPG_MIN_RATE_P1=1 \
            RATE_TO_SET_ON_FIRST_CNP_P1=0 \
            DCE_TCP_G_P1=1019 \
            DCE_TCP_RTT_P1=1 \
            RATE_REDUCE_MONITOR_PERIOD_P1=4 \
            INITIAL_ALPHA_VALUE_P1=1023 \
            MIN_TIME_BETWEEN_CNPS_P1=4
    fi
}
qos_net2 eth9  # mlx5_8 to kv-leaf1:Ethernet0
exit 0
