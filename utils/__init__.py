"""Cross-cutting helpers with no project dependencies: settings, logging, formatting."""
