"""SHELL[:<shell-command>] (new in socat 1.8): a command through the user's shell.

The shell is ``$SHELL`` (or the ``shell=`` option) and must be a path; the
child runs ``execl(shell, basename, "-c", command)``, or, without a command,
the shell itself, interactive on the channel. SHELL is set to that path in the
child's environment. Everything else is EXEC's and SYSTEM's machinery
(socketpair, pipes or pty, fdin/fdout, setsid, nofork, stderr, ...).
"""
from __future__ import annotations

import os

from ..errors import SocatError
from ..log import LOG
from .exec import _open_program
from .registry import address


def _shell_path(opts) -> str:
    path = os.environ.get("SHELL")
    given = opts.get("shell")
    if given is not None:
        path = given
    if path is None:
        raise SocatError("SHELL variable undefined")
    if "/" not in path:
        raise SocatError(f"SHELL \"{path}\" variable does not specify a path (has no '/')")
    return path


def _runner(shellpath: str, command: str | None):
    """What the child does instead of execvp (socat's xioopen_shell child)."""
    name = shellpath.rsplit("/", 1)[1]

    def run(env):
        env["SHELL"] = shellpath
        if command is not None:
            LOG.info(f'executing shell command "{command}"')
            LOG.debug(f'execl("{shellpath}", "{name}", "-c", "{command}", NULL)')
            args = [name, "-c", command]
        else:
            LOG.info("executing interactive shell")
            LOG.debug(f'execl("{shellpath}", "{name}", NULL)')
            args = [name]
        try:
            os.execve(shellpath, args, env)
        except OSError as e:
            LOG.warn(f'execl("{command}") returned with status -1')
            LOG.warn(f"execl(): {e.strerror}")
        os._exit(0)             # socat's child ends with Exit(0) here
    return run


def open_shell(ctx, row, spec, opts, params):
    command = ":".join(params) if params else None
    shellpath = _shell_path(opts)
    return _open_program(ctx, row, spec, opts, command or "", True,
                         run=_runner(shellpath, command))


def _steps(ctx):
    from .exec import _program_steps
    shell = ctx.get("shell", os.environ.get("SHELL"))
    if shell is None:
        raise SocatError("SHELL variable undefined")
    if "/" not in shell:
        raise SocatError(f"SHELL \"{shell}\" variable does not specify a path (has no '/')")
    name = shell.rsplit("/", 1)[1]
    steps = list(_program_steps(ctx))
    lit = ctx.literal
    if ctx.params:
        run = (f'execl("{lit(shell)}", "{lit(name)}", "-c", "{{shell-command}}") '
               f"with SHELL={lit(shell)} in its environment")
    else:
        run = (f'execl("{lit(shell)}", "{lit(name)}"): an interactive shell reading the '
               f"channel, with SHELL={lit(shell)} in its environment")
        ctx.advise("shell-interactive", "without a command the shell is interactive: it "
                   "reads its commands from this channel (add pty for job control and a "
                   "prompt)")
    return [("EXEC", run) if s[0] == "EXEC" else s for s in steps]


address("shell", "[:<shell-command>]", "FD,FIFO,SOCKET,EXEC,FORK,SHELL,TERMIOS,PTY,PARENT,UNIX",
        open_shell, "SHELL", "run a command with $SHELL -c, or an interactive shell",
        params=("shell-command",), nparams=(0, 1), count_text="1", steps=_steps,
        since="1.8")
