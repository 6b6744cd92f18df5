"""Anthropic's Messages API offered to callers (`POST /v1/messages`), on the governed chat path."""
