"""Policy config: YAML with positions -> validated models -> a compiled, immutable Runtime."""
