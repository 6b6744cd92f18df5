"""OpenAI's Responses API offered to callers (`POST /v1/responses`), on the governed chat path."""
