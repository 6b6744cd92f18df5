"""Policy kinds, one per module; `registry.KINDS` lists them all."""
