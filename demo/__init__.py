"""`make demo`: the real bot process, the local Bot API emulator and a terminal chat."""
