"""Every option module; importing this fills the option table.

One module per option family. Add a line when a family gains options.
"""
from . import common  # noqa: F401  FD, NAMED, OPEN, APPL, FORK, EXEC, PROCESS
from . import interface  # noqa: F401  INTERFACE (TUN/TAP, iff-* flags)
from . import socket  # noqa: F401  SOCKET, IP4, IP6, TCP, LISTEN, CHILD, RANGE, RETRY
from . import termios  # noqa: F401  TERMIOS (terminal flags, speeds, characters)
from . import pty  # noqa: F401  PTY (link, wait-slave, ptmx)
from . import process  # noqa: F401  PROCESS (chroot, setuid, su, …), lockfile/waitlock
from . import multicast  # noqa: F401  IP4/IP6 multicast (ttl, loop, if, membership)
from . import proxy  # noqa: F401  HTTP, SOCKS4 (proxy clients)
from . import openssl  # noqa: F401  OPENSSL (cert, cafile, verify, …)
from . import readline  # noqa: F401  READLINE (history, prompt, noprompt, noecho)
from . import shell  # noqa: F401  SHELL (shell=)
from . import posixmq  # noqa: F401  POSIXMQ (mq-prio, mq-flush, mq-maxmsg, mq-msgsize)
from . import context  # noqa: F401  netns, chdir (1.8: while the address opens)
from . import ioctl  # noqa: F401  ioctl-*, fiosetown, siocspgrp, fs-* (chattr flags)
from . import resolver  # noqa: F401  res-* (the address's own resolver settings)
