"""FastAPI application assembly, authentication dependencies and error handling."""
