"""Cross-cutting concerns: one DB transaction per update, the acting user, access gate."""
