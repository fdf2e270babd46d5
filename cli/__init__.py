"""The ``whistle`` command line: a surface over the SDK client (``whistle``) and the gateway, like the HTTP API."""
