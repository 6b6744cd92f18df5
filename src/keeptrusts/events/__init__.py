"""Decision events: one per request, built at the end of the exchange, batched, spooled, delivered.

event.py     the event dict (no prompt or completion text)
ids.py       time-ordered unique event ids (UUIDv7)
sinks.py     deliver a batch somewhere (control-plane API, stdout, a file); nothing more
spool.py     the durable on-disk FIFO used while the API is slow or down
pipeline.py  the in-memory queue, batching, retries with backoff, spool and replay
wiring.py    how the gateway process starts and stops the pipeline
"""
