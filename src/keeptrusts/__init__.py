"""Keeptrusts Gateway: an OpenAI-compatible AI gateway that governs content."""

__version__ = "0.1.0"
