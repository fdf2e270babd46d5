# syntax=docker/dockerfile:1
# The Whistle worker: `docker build -t whistle-worker .` (docker-compose.yml builds it as the `worker` service).
# It needs TEMPORAL_ADDRESS and DATABASE_URL; with either unset it would try to start the embedded dev stack.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Only what the package is built from (see [tool.setuptools] in pyproject.toml); README.md* may be absent.
COPY pyproject.toml README.md* ./
COPY worker.py ./
COPY schemas/ schemas/
COPY workflows/ workflows/
COPY activities/ activities/
COPY whistle/ whistle/
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WHISTLE_HOME=/var/lib/whistle
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/whistle --create-home whistle
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The entry script only; everything it imports comes from the installed package in /opt/venv.
COPY worker.py ./
USER whistle
# SIGINT cancels asyncio.run, and a cancelled Worker.run shuts down gracefully (in-flight tasks finish).
STOPSIGNAL SIGINT
CMD ["python", "worker.py"]
