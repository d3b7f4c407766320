"""Store services: one module per area, each operation one unit of work with its audit event."""
