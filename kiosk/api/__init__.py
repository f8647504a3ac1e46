"""The local HTTP API, status page and live event stream (FastAPI on uvicorn, inside core's loop)."""
