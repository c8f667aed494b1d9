"""abordo as an HTTP service: a FastAPI front end beside `ui/`, over the same `Assistant` the CLI and the
chat page use (one code path). `abordo serve` runs it under uvicorn."""
