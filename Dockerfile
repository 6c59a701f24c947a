# syntax=docker/dockerfile:1
# Multi-stage: compilers only in the builder (durable-rules compiles a C extension).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder
RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3-dev python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r requirements.lock
COPY service ./service
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM ${BASE_IMAGE}
RUN (command -v useradd >/dev/null || (apt-get update && apt-get install -y --no-install-recommends passwd)) \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin app \
    && mkdir -p /data && chown app /data
COPY --from=builder /opt/venv /opt/venv
COPY rules /app/rules
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=2 \
    RULES_DIR=/app/rules \
    DATABASE_URL=sqlite:////data/compliance.db
USER app
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python3 -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8000\")}/healthz', timeout=2)"
STOPSIGNAL SIGTERM
CMD ["compliance-engine", "serve"]
