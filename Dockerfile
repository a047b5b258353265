# repertory worker image, in two stages: the builder turns the source into a wheel; the runtime
# installs that wheel and the locked runtime dependencies on a slim base, and runs as non-root.
#
# PID 1 is tini (Debian's package): Thespian's admin process detaches from the worker processes
# it starts, so exited workers are re-parented to PID 1, which must reap them. tini also
# forwards SIGTERM to `repertory`, which drains its workers (workers.drain_timeout) and exits.
# (`docker run --init` gives the same with Docker's own tini; this image does not rely on it.)
#
#   docker build -t repertory .
#   docker run -p 9400:9400 repertory run examples.bank.app     # /metrics, /healthz, /readyz

FROM python:3.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN pip install --no-cache-dir hatchling==1.33.0
COPY pyproject.toml README.md ./
COPY repertory ./repertory
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /dist .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REPERTORY_LOGGING__FORMAT=json \
    REPERTORY_OBSERVABILITY__METRICS_PORT=9400 \
    REPERTORY_OBSERVABILITY__BIND_ADDRESS=0.0.0.0
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 repertory \
    && useradd --create-home --uid 10001 --gid 10001 repertory
WORKDIR /app
COPY requirements-runtime.lock ./
RUN pip install --no-cache-dir -r requirements-runtime.lock
COPY --from=builder /dist/ /tmp/dist/
RUN pip install --no-cache-dir --no-deps /tmp/dist/repertory-*.whl && rm -rf /tmp/dist
# The bank example ships beside the package (not inside it), for `run` and `demo` in the image.
COPY examples ./examples
ENV PYTHONPATH=/app

USER 10001:10001
EXPOSE 9400
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('REPERTORY_OBSERVABILITY__METRICS_PORT', '9400') + '/healthz', timeout=4)"]
ENTRYPOINT ["/usr/bin/tini", "--", "repertory"]
CMD ["--help"]
