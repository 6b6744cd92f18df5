"""The ordered policy chain: stages, verdicts and the per-request exchange."""
