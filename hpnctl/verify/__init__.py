"""Per-platform verification: config compliance plus operational checks declared as data.

- expect.py  what a device should show (peers, ECMP next hops, ports, QoS plan)
- checks.py  per platform: a driver `collect` name + a judge of its parsed output
- run.py     verify one device; post-checks used by apply between commit and confirm
"""
