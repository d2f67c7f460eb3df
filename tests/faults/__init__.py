"""The fault suite: a real shop under uvicorn served through real faults (see README.md here)."""
