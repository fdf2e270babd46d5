"""The HTTP gateway: JSON API, Open311 GeoReport v2, per-actor API keys and the supervisors' dashboard."""
