"""The Telegram side: entry point, routers, FSM, keyboards, middlewares, texts, outbox sender."""
