"""Storage: engine and sessions, tables, migrations, repositories, seed."""
