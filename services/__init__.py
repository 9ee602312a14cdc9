"""The domain: workflows, routing, policies. Knows nothing of aiogram; never commits."""
