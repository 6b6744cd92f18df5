"""Fast, linear-time matchers and validators used by the content policies.

Everything here is compiled once (per config or per process) and never backtracks:
RE2 (`re2`), Aho-Corasick (`ahocorasick`) and hand-written scanners.
"""
