"""Scheduled work: the in-process APScheduler and its jobs (each also runs from the command line).

Jobs enter at the service layer, never through handlers.
"""
