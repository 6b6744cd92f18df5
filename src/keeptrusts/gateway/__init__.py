"""The HTTP gateway: app, handlers, identity, server lifecycle (reload, drain)."""
