"""Where Solace keeps things: every SQL table and its migrations, the engine, the Redis
connection and key layout, the stores, the model registry and the published-model
snapshot. Imports only ``core``."""
