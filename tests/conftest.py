"""Session set-up shared by every test module."""

from __future__ import annotations

import signal


def pytest_configure() -> None:
    """Give Ctrl-C back to the processes the tests start, as a user at a terminal has it.

    A shell that starts the test run in the background without job control (``… &`` in a
    script, ``nohup``) starts it with SIGINT ignored; a child inherits an ignored signal
    through ``exec`` (a handler it does not), and Python then keeps ignoring SIGINT, so the
    tests that interrupt ``bitcraps demo`` or ``game watch`` would see it ignored."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
