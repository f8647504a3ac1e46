"""Config schema, clock, ids, event types, errors — imported by every layer, imports none of ours."""
