"""Example applications built on repertory; each is an importable package (``examples.bank``)."""
