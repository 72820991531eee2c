"""Options of the READLINE address (socat's GROUP_READLINE, xio-readline.c).

All four act in phase LATE and are read by the opener (addresses/readline.py).
"""
from .table import opt

opt("history-file", "STRING", "READLINE", "LATE", ("addr",),
    "load the line history from this file and save it there at close",
    ("history",), nick="history")
opt("noecho", "STRING", "READLINE", "LATE", ("addr",),
    "POSIX extended regex: when the prompt matches it, the next line is read without "
    "echo and not added to the history")
opt("noprompt", "BOOL", "READLINE", "LATE", ("addr",),
    "no prompt: do not use the last partial line of output as readline's prompt")
opt("prompt", "STRING", "READLINE", "LATE", ("addr",),
    "fixed prompt for readline (instead of the last partial line of output)")
