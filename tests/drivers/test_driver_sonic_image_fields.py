"""SONiC driver: fields that belong to the switch image are never in a patch."""
from __future__ import annotations



def test_image_owned_fields_are_never_patched() -> None:
    """hwsku/lanes/alias come from the switch image; a rendered placeholder must not overwrite them."""
    from hpnctl.drivers.sonic import config_patch, restrict

    running = {"PORT": {"Ethernet0": {"lanes": "0,1,2,3", "alias": "etp1", "speed": "100000", "mtu": "9100"}},
               "DEVICE_METADATA": {"localhost": {"hwsku": "Mellanox-SN4700", "hostname": "leaf1", "bgp_asn": "65001"}}}
    candidate = {"PORT": {"Ethernet0": {"lanes": "0,1,2,3,4,5,6,7", "alias": "Ethernet1/1", "speed": "400000", "mtu": "9100"}},
                 "DEVICE_METADATA": {"localhost": {"hwsku": "hpnctl-tomahawk5", "hostname": "leaf1", "bgp_asn": "65002"}}}
    run_view, cand_view, _ = restrict(running, candidate, "replace")
    patch = config_patch(run_view, cand_view)
    paths = {op["path"] for op in patch}
    assert paths == {"/PORT/Ethernet0/speed", "/DEVICE_METADATA/localhost/bgp_asn"}
