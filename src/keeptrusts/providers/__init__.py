"""Provider adapters (one per wire format) and the router that picks and falls back between them."""
