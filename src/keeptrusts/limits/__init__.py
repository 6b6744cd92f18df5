"""Shared state for rate limits and budgets: in memory, or in Redis across replicas."""
