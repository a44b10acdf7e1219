# The Tenure worker and HTTP API (one image, two commands; see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TENURE_PROGRAM_PATH=/app/program.toml \
    TENURE_DATA_DIR=/app/data

WORKDIR /app
COPY . .
RUN pip install . \
    && useradd --create-home --uid 10001 tenure \
    && mkdir -p /app/data && chown tenure /app/data

USER tenure
CMD ["python", "worker.py"]
