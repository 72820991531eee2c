"""Options of pseudo terminals (socat's GROUP_PTY): PTY, and EXEC/SYSTEM with ``pty``.

All are read by the openers (addresses/pty.py, addresses/exec.py).
"""
from .table import opt

opt("symbolic-link", "STRING", "PTY", "LATE", ("addr",),
    "publish the slave's name as this symbolic link (removed at close)", ("link",), nick="link")
opt("pty-wait-slave", "BOOL", "PTY", "EARLY", ("addr",),
    "wait until a client opens the slave", ("wait-slave", "waitslave"), nick="wait-slave")
opt("pty-interval", "TIMESPEC", "PTY", "EARLY", ("addr",),
    "with wait-slave: seconds between polls (default 1)", ("pty-intervall",))
opt("openpty", "BOOL", "PTY", "BIGEN", ("addr",), "get the pty from openpty(3) (the default)")
opt("ptmx", "BOOL", "PTY", "BIGEN", ("addr",), "get the pty from /dev/ptmx")
opt("sitout-eio", "TIMEVAL", "PTY", "OFFSET", ("addr",),
    "tolerate EIO on the pty master this long (a program reopening its tty)", since="1.8")
