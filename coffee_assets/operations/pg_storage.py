"""Dagster's PostgreSQL storages (dagster-postgres) as the production instance uses them
(deploy/dagster.yaml: run_storage, event_log_storage, schedule_storage), with two repairs for
when PostgreSQL restarts under running Dagster processes.

- **The webserver's connection pool.** dagster-webserver keeps a pool of open connections per
  storage (`optimize_for_webserver`: QueuePool, one connection plus overflow, recycled hourly)
  without SQLAlchemy's `pool_pre_ping`. After PostgreSQL restarts, every pooled connection is
  dead and the next requests fail with "server closed the connection unexpectedly" (HTTP 500).
  These storages test a pooled connection when it is taken (`SELECT 1`) and replace a dead one,
  so the first request after a restart succeeds. The other processes (daemon, code server, runs)
  open a connection per use (NullPool) and never held a dead one.
- **Log lines twice.** dagster-postgres reports a retried connection with `logging.warning` on
  the root logger, which gives the root logger a handler of its own (`logging.basicConfig`);
  from then on every line of Dagster's `dagster` logger, which has its own handler, was printed
  a second time through the root's. The `dagster` logger no longer hands its lines to the root:
  Dagster's services configure its handler themselves (the retry warning itself still prints,
  once, through the root's handler).
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

# Loaded by every process that opens the instance, before Dagster's services log anything.
logging.getLogger("dagster").propagate = False


def _storage_kwargs(config_value: Any) -> dict[str, Any]:
    """The arguments dagster-postgres's own from_config_value passes (0.29)."""
    return {
        "postgres_url": pg_url_from_config(config_value),
        "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
        "token_provider": get_token_provider_from_config(config_value),
    }


def ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """SQLAlchemy's pessimistic disconnect handling, through its public pool events (what
    create_engine(pool_pre_ping=True) does, on an engine dagster-postgres built): a pooled
    connection that fails `SELECT 1` when it is taken raises DisconnectionError, and the pool
    replaces it with a new connection (up to three times) before the request uses it."""
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as error:  # noqa: BLE001 (whatever a dead connection raises)
        raise sa.exc.DisconnectionError(str(error)) from error


def _test_connections_on_checkout(storage: Any) -> None:
    # Imported here, in the webserver only: the fenced module loads dagster-dbt (2 s), which
    # the daemon and the runs opening the instance do not need for this.
    from coffee_assets.operations.dagster_internals import storage_engine

    sa.event.listen(storage_engine(storage), "checkout", ping_on_checkout)


class _PrePing:
    """What the three storages add to dagster-postgres's: built from the same config, and in
    the webserver pooled connections tested before use."""

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> Any:
        return cls(inst_data=inst_data, **_storage_kwargs(config_value))  # type: ignore[call-arg]

    def optimize_for_webserver(
        self, statement_timeout: int, pool_recycle: int, max_overflow: int
    ) -> None:
        super().optimize_for_webserver(  # type: ignore[misc]
            statement_timeout, pool_recycle, max_overflow
        )
        _test_connections_on_checkout(self)


class PrePingRunStorage(_PrePing, PostgresRunStorage):
    pass


class PrePingEventLogStorage(_PrePing, PostgresEventLogStorage):
    pass


class PrePingScheduleStorage(_PrePing, PostgresScheduleStorage):
    pass
