"""``python -m robot6_sb3`` and the ``robot6`` command: the command line, with Ctrl-C and
SIGTERM turned into exit codes 130 and 143 from the first instant, imports included."""

from __future__ import annotations

import signal
import sys


def main() -> None:
    from robot6_sb3.cli.signals import SIGNALS, Interrupted, interrupt_on_signals

    interrupt_on_signals()
    code = 0
    try:
        from robot6_sb3.cli import app

        app(prog_name="robot6")
    except Interrupted as stop:
        sys.stderr.write("\nInterrupted; nothing was left half-written.\n")
        code = 128 + stop.signum
    finally:
        # The command is over: a signal arriving while the interpreter shuts down changes
        # nothing any more (Python would otherwise restore the default action, which kills).
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    main()
