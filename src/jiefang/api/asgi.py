"""ASGI entry point for multi-worker servers: ``uvicorn jiefang.api.asgi:app``."""

from jiefang.api.app import create_app

app = create_app()
