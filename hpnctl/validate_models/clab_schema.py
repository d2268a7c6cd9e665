def validate_clab_topology(*a, **k): raise NotImplementedError
