# syntax=docker/dockerfile:1
# The compliance engine as a container image.
#
# Multi-stage: compilers only in the builder (durable-rules compiles a C extension); the runtime
# stage has the virtualenv, the rules and nothing else. BASE_IMAGE is any Debian-like image with
# `python3` (the official slim image by default; on machines that cannot pull it, a debootstrap
# image with python3, python3-venv and python3-pip: see docs/deploy.md).
#
# Runs as uid 10001, writes only to /data (SQLite, when DATABASE_URL is not PostgreSQL): the root
# file system can be read-only. WORKERS sets uvicorn's worker processes; SIGTERM drains in-flight
# requests (up to 20 s) and runs the application's shutdown. The rules are baked into /app/rules;
# mount a folder and point RULES_DIR at it to override them.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential python3-dev python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first (their layer is reused while requirements.lock and pyproject.toml are unchanged):
# the runtime dependencies of pyproject.toml, pinned by the lock (test tools are not installed).
COPY requirements.lock pyproject.toml README.md ./
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -c requirements.lock . \
    && /opt/venv/bin/pip uninstall -y compliance-engine
# The application itself as a wheel: a small layer that is the only one to change with the code.
COPY service ./service
RUN /opt/venv/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps -w /wheels .

FROM ${BASE_IMAGE}
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data && chown 10001:10001 /data && chmod 0750 /data
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /wheels /wheels
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps --no-index /wheels/*.whl \
    && rm -rf /wheels \
    && /opt/venv/bin/compliance-engine --help >/dev/null
COPY rules /app/rules
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=2 \
    RULES_DIR=/app/rules \
    DATABASE_URL=sqlite:////data/compliance.db \
    DECISION_JOURNAL_DIR=/data/journal
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# Needs the docker image format (buildah bud --format docker); OCI images drop HEALTHCHECK.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["compliance-engine", "serve"]
