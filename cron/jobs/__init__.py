"""One module per job; each exposes `async def run(ctx: JobContext) -> str` (a one-line summary)."""
