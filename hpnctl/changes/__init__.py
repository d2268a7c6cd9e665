"""Changing devices safely: targets, run state (backups, lock), diff, snapshot."""
