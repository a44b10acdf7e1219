"""Tenure's SQL database: schema and its migrations, engines, the two idempotent writes, and read-side queries.

Activities write through it (the only writers); the API, the CLI and the console read through
its query modules. Workflows never touch it: a workflow reads its own state.
"""
