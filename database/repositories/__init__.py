"""Queries, one module per aggregate. Repositories never commit: the caller owns the transaction."""
