"""Sync with the city hub: protocol models (shared with the hub), outbox relay, bundle fetcher."""
