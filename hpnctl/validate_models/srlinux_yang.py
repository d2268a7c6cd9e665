def validate_srlinux(*a, **k): raise NotImplementedError
def validate_srlinux_many(*a, **k): raise NotImplementedError
