"""The fault suite (``make chaos``): many cases through every path while the worker, Temporal and PostgreSQL fail."""
