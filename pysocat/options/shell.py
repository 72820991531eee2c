"""SHELL (socat 1.8's SHELL address): which shell runs the command."""
from .table import opt

opt("shell", "STRING", "SHELL", "PREEXEC", ("addr",),
    "the shell to run instead of $SHELL (a path; also becomes the child's SHELL)",
    since="1.8")
