"""Logging configured once per process; everything else asks ``get_logger`` for a bound logger.

Standard-library records (the SDK's, and ``workflow.logger``, which stays silent during replay) pass
through the same structlog renderer, so a workflow's "calendar data missing" alarm and an activity's
"events appended" line come out in one format with their ids attached.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured = False


def configure_logging(log_format: str, log_level: str) -> None:
    """JSON lines in production (``log_format`` json, or auto when stderr is not a terminal), a readable console
    elsewhere; ``log_level`` for Whistle's own lines and the SDK's workflow and activity loggers."""
    global _configured
    if _configured:
        return
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if use_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder()],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level.upper())
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    # httpx logs each request with its full URL at INFO: a webhook URL may hold a token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("temporalio.workflow").setLevel(log_level.upper())
    logging.getLogger("temporalio.activity").setLevel(log_level.upper())
    _configured = True


def get_logger(**bound: Any) -> Any:
    """A structlog logger with ``bound`` keys on every line (complaint_id, workflow_id, ...)."""
    return structlog.get_logger("whistle").bind(**bound)
