"""The path every update takes: intake → inbox → workers → dispatcher → commit → Telegram.

- intake (`polling`, `webhook`) stores each batch in the inbox before Telegram is told it
  arrived;
- `inbox.InboxProcessor` feeds stored updates to the dispatcher through `workers.KeyedWorkers`:
  one at a time per user, many users at once; failures retried, then parked;
- `transaction.UpdateTransaction` commits an update's changes (and its inbox mark) before each
  Bot API call, through the request middleware in `telegram_calls`, which also keeps
  Telegram's errors after a commit from undoing it.
"""
