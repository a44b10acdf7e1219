# The Tenure worker, HTTP API and CLI: one image, a command each (docker-compose.yml).
#
# Layers, from the most stable: the Python base, then the dependencies (rebuilt only when
# pyproject.toml changes), then Tenure itself, installed from a wheel without dependencies (a
# change to the code rebuilds only that small layer). Only the runtime dependencies: none of the
# extras (`dev-server`: the 156 MB `temporal` CLI of `make run`; `test`). Runs as an unprivileged user.
# Health checks are per command, in docker-compose.yml (`python -m starter.healthcheck worker|api`).

FROM python:3.11.16-slim-trixie AS runtime

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TENURE_PROGRAM_PATH=/app/program.toml \
    TENURE_DATA_DIR=/app/data

# 1. the dependencies, from pyproject.toml alone
COPY pyproject.toml /tmp/tenure/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/tenure/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/tenure/requirements.txt \
    && pip install -r /tmp/tenure/requirements.txt \
    && rm -rf /tmp/tenure

# 2. Tenure as a wheel, built in a stage of its own so the source never reaches the final image
FROM runtime AS wheel
COPY . /src
RUN pip wheel --no-deps --wheel-dir /wheels /src

# 3. the image: the dependencies' layer, Tenure's wheel, the program file, an unprivileged user
FROM runtime
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && groupadd --system --gid 10001 tenure \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin tenure \
    && mkdir -p /app/data \
    && chown tenure:tenure /app/data
WORKDIR /app
COPY program.toml /app/program.toml

USER 10001:10001
# The worker's allocator setting (MALLOC_ARENA_MAX=2, starter/supervisor/supervise.py WORKER_ALLOCATOR_ENV)
# is the worker container's environment in docker-compose.yml, not an ENV here: the API, from this image
# too, spent ~3% more CPU per webhook with it (bench/RESULTS.md 14.10). Run the worker elsewhere with it set.
# the API; the worker's Prometheus metrics (TENURE_WORKER_METRICS_ADDRESS=0.0.0.0:9464)
EXPOSE 8000 9464
CMD ["python", "-m", "worker"]
