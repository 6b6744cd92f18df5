from tests.controlplane.fixtures import api, backend, database_url, make_api, postgres

__all__ = ["api", "backend", "database_url", "make_api", "postgres"]
