"""hpnctl: one declarative fabric intent → validated plan → per-switch configs, pushed and verified safely."""

__version__ = "0.1.0"
