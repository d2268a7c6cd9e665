"""The host end of the fabric: what the GPU servers do, from the same intent as the switches.

  design.py  per network: the NICs' DSCP → priority map, PFC, ETS, CNP, DCQCN profile, MTU;
             per library / communicator: the DSCP (ToS = DSCP << 2) and SL it marks with
  lint.py    L300–L308: host ↔ switch consistency (run by design(), so by validate and render)
  model.py   the plain-data model of one server; render.py: `hpnctl render --hosts`
  dcqcn.py   NVIDIA DCQCN parameters, where each lives (sysfs, debugfs, mlxconfig), built-in profiles
  lab.py     what a lab namespace can take of a host's files
"""
