"""The control-plane API (`kt api run`): stores decision events, reports cost, serves configs.

app.py            aiohttp routes, bearer-token auth, the error envelope
store.py          the storage interface and the row/query types both backends share
sqlquery.py       WHERE/GROUP BY building shared by both SQL dialects
sqlite_store.py   SQLite (stdlib sqlite3 on one worker thread), the default
postgres_store.py PostgreSQL (asyncpg)
migrations.py     one schema, versioned, for both backends
timeparse.py      `since`/`until` parameters: RFC 3339 or a relative age like `1h`
"""
