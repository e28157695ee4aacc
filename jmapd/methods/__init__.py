"""Methods: the registry, the dispatcher and the standard-method engine."""
