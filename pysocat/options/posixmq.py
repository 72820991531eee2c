"""POSIXMQ (socat 1.8's POSIX message queue addresses)."""
from .table import opt

opt("posixmq-priority", "UINT", "POSIXMQ", "INIT", ("addr",),
    "priority of the messages sent", ("mq-prio",), nick="mq-prio", since="1.8")
opt("posixmq-flush", "BOOL", "POSIXMQ", "EARLY", ("addr",),
    "take (and drop) the messages the queue holds before the open",
    ("mq-flush",), nick="mq-flush", since="1.8")
opt("posixmq-maxmsg", "LONG", "POSIXMQ", "OPEN", ("addr",),
    "capacity of a queue created (messages; the other attribute: the system default)",
    ("mq-maxmsg",), nick="mq-maxmsg", since="1.8")
opt("posixmq-msgsize", "LONG", "POSIXMQ", "OPEN", ("addr",),
    "maximum message size of a queue created (bytes)",
    ("mq-msgsize",), nick="mq-msgsize", since="1.8")
