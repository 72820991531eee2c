"""READLINE (socat's xio-readline.c), driven through a real pseudo terminal.

pysocat runs with the slave of a fresh pty as stdin and stdout (a new
session, HOME pointing at a temporary directory: without ``history=`` the
history goes to ~/.history, as socat's write_history(NULL)). The test types on
the master and reads what the terminal shows. Every wait is bounded.
"""
import os
import select
import subprocess
import termios
import time

import pytest

from conftest import PYSOCAT, log_texts, run_pysocat

UP = b"\x1b[A"      # cursor up: the previous history line


class Term:
    """pysocat on a pty: type(), screen(), finish()."""

    def __init__(self, tmp_path, *args):
        self.master, slave = os.openpty()
        self.keep = os.dup(slave)     # to look at the settings after pysocat exited
        env = dict(os.environ, HOME=str(tmp_path), TERM="dumb", INPUTRC="/dev/null")
        self.proc = subprocess.Popen(PYSOCAT + list(args), stdin=slave, stdout=slave,
                                     stderr=subprocess.PIPE, env=env, start_new_session=True)
        os.close(slave)
        self.out = b""

    def pump(self, until=None, timeout=5.0):
        """Read the screen until ``until`` appears (or timeout, or the pty closes)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if until is not None and until in self.out:
                return True
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    break
                if not data:
                    break
                self.out += data
        return until is not None and until in self.out

    def settle(self):
        """Wait until the terminal is in socat's between-lines mode (no ICANON, no ECHO)."""
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if not termios.tcgetattr(self.keep)[3] & termios.ICANON:
                return
            time.sleep(0.02)
        raise AssertionError("pysocat did not set up the terminal")

    def type(self, keys, until=None):
        os.write(self.master, keys)
        return self.pump(until) if until is not None else None

    def finish(self, timeout=10):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("pysocat did not exit")
        self.pump(timeout=0.2)
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        return self.proc.returncode, err

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for fd in (self.master, self.keep):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def term(tmp_path):
    made = []

    def start(*args):
        t = Term(tmp_path, *args)
        made.append(t)
        t.settle()
        return t
    yield start
    for t in made:
        t.close()


def test_lines_reach_the_other_side_and_history_is_saved(term, tmp_path):
    hist = tmp_path / "hist"
    out = tmp_path / "out"
    t = term("-d", "-d", f"READLINE,history={hist}", f"SYSTEM:cat >{out}")
    assert t.type(b"hello\r", until=b"hello\r\n")
    t.type(b"\r")                     # an empty line is a line of the history too
    assert t.type(b"second\r", until=b"second\r\n")
    t.type(b"\x04")                   # ^D on an empty line: EOF
    rc, err = t.finish()
    assert rc == 0, err
    assert out.read_bytes() == b"hello\n\nsecond\n"
    assert hist.read_text() == "hello\n\nsecond\n"
    assert "N using readline on stdin for reading and stdio for writing" in log_texts(err)
    # the terminal settings of before are back
    assert termios.tcgetattr(t.keep)[3] & termios.ICANON


def test_history_file_is_loaded_and_recalled(term, tmp_path):
    hist = tmp_path / "hist"
    hist.write_text("older\nprevious\n")
    out = tmp_path / "out"
    t = term(f"READLINE,history-file={hist}", f"SYSTEM:cat >{out}")
    t.type(UP + b"\r", until=b"previous\r\n")
    t.type(UP + UP + UP + b" again\r", until=b" again\r\n")
    t.type(b"\x04")
    rc, err = t.finish()
    assert rc == 0, err
    assert out.read_bytes() == b"previous\nolder again\n"
    assert hist.read_text() == "older\nprevious\nprevious\nolder again\n"


def test_without_history_option_saves_to_home_history(term, tmp_path):
    t = term("READLINE", "SYSTEM:cat >/dev/null")
    t.type(b"kept\r", until=b"kept\r\n")
    t.type(b"\x04")
    rc, err = t.finish()
    assert rc == 0, err
    assert (tmp_path / ".history").read_text() == "kept\n"


def _script(tmp_path, text):
    path = tmp_path / "dialog.sh"
    path.write_text(text)
    return f"EXEC:sh {path}"


ASK_NAME = 'printf "Name> "; read x; echo "hi $x"\n'


def test_other_side_output_is_written_and_its_partial_line_is_the_prompt(term, tmp_path):
    t = term("READLINE,history=/dev/null", _script(tmp_path, ASK_NAME))
    assert t.pump(b"Name> ")
    t.type(b"bob\r", until=b"hi bob\r\n")
    rc, err = t.finish()
    assert rc == 0, err
    # a CR, then readline prints the remembered partial line again as its prompt
    assert b"Name> \rName> bob\r\n" in t.out
    assert t.out.endswith(b"hi bob\r\n")


def test_prompt_option_replaces_the_partial_line(term):
    t = term("READLINE,prompt=>> ,history=/dev/null", "SYSTEM:cat")
    t.type(b"x\r", until=b"x\r\n")
    assert b"\r>> x\r\n" in t.out
    t.type(b"\x04")
    assert t.finish()[0] == 0


def test_noprompt_edits_from_where_the_output_stopped(term, tmp_path):
    t = term("READLINE,noprompt,history=/dev/null", _script(tmp_path, ASK_NAME))
    assert t.pump(b"Name> ")
    t.type(b"bob\r", until=b"hi bob\r\n")
    assert t.finish()[0] == 0
    assert b"Name> bob\r\n" in t.out and b"\rName> " not in t.out


def test_noecho_hides_the_line_after_a_matching_prompt(term, tmp_path):
    hist = tmp_path / "hist"
    out = tmp_path / "out"
    t = term(f"READLINE,noecho=^[Pp]assword,history={hist}",
             _script(tmp_path, 'printf "User> "; read u; printf "Password> "; read p; '
                     f'echo "$u/$p" >{out}; echo ok\n'))
    assert t.pump(b"User> ")
    t.type(b"ann\r", until=b"Password> ")
    t.type(b"s3cret\r", until=b"ok\r\n")
    rc, err = t.finish()
    assert rc == 0, err
    assert out.read_bytes() == b"ann/s3cret\n"
    assert b"ann\r\n" in t.out
    assert b"s3cret" not in t.out
    assert hist.read_text() == "ann\n"        # the hidden line is not in the history


def test_noecho_pattern_is_compiled_like_regcomp(term, tmp_path):
    r = _on_pty(tmp_path, "READLINE,noecho=a{2,1}", "SYSTEM:cat")
    assert r[0] == 1
    texts = log_texts(r[1])
    assert len(texts) == 1 and texts[0].startswith("E regcomp(0x")
    assert texts[0].endswith('"a{2,1}", REG_EXTENDED|REG_NOSUB): Invalid content of \\{\\}')


def _on_pty(tmp_path, *args):
    t = Term(tmp_path, *args)
    try:
        return t.finish()
    finally:
        t.close()


def test_stdin_not_a_terminal_fails_as_socat():
    r = run_pysocat("READLINE", "/dev/null", input=None, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    texts = log_texts(r.stderr)
    assert len(texts) == 1 and texts[0].startswith("E tcgetattr(0, 0x")
    assert texts[0].endswith("): Inappropriate ioctl for device")


def test_parameters_are_refused():
    r = run_pysocat("READLINE:x", "/dev/null", input=None, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert log_texts(r.stderr) == ["E READLINE: 0 parameters required"]


def test_version_and_help_list_readline():
    assert "  #define WITH_READLINE 1" in run_pysocat("-V").stdout.decode()
    hh = run_pysocat("-hh").stdout.decode().splitlines()
    assert "      readline\tgroups=FD,READLINE,TERMIOS" in hh
    for line in ("      history\tgroups=READLINE\tphase=LATE\ttype=STRING",
                 "      noecho\tgroups=READLINE\tphase=LATE\ttype=STRING",
                 "      noprompt\tgroups=READLINE\tphase=LATE\ttype=BOOL",
                 "      prompt\tgroups=READLINE\tphase=LATE\ttype=STRING"):
        assert line in hh
    assert "      history is an alias for history-file" in \
        run_pysocat("-hhh").stdout.decode().splitlines()
