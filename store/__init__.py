"""Mitra's store: models, engine, migrations and the services every front end shares.

Nothing in this package imports Textual: the command line and the console both sit on it.
"""
