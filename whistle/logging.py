"""Logging configured once per process; everything else asks ``get_logger`` for a bound logger."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from whistle.settings import Settings

_configured = False


def configure_logging(settings: Settings) -> None:
    """JSON lines in production (or when stderr is not a terminal), a readable console elsewhere."""
    global _configured
    if _configured:
        return
    use_json = settings.log_format == "json" or (settings.log_format == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer(ensure_ascii=False) if use_json else (
        structlog.dev.ConsoleRenderer()
    )
    level = logging.getLevelName(settings.log_level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level if isinstance(level, int) else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _configured = True


def get_logger(**bound: Any) -> Any:
    """A structlog logger with ``bound`` keys on every line (complaint_id, workflow_id, ...)."""
    return structlog.get_logger("whistle").bind(**bound)
