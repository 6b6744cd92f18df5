"""Server-sent events: parsing upstream streams and guarding what we release to the client."""
