"""CLI verb groups beyond validate/render/show.

Each module here defines `COMMANDS: list[click.Command]`; hpnctl.cli adds them
all, so a new verb never needs an edit to cli.py.
"""
