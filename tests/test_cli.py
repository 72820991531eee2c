"""The command line: flags, exit codes and socat's error messages."""
import pytest

from conftest import SOCAT, log_texts, needs_socat, run_pysocat, run_socat

ERROR_CASES = [
    (["FOO", "-"], 'E unknown device/address "FOO"'),
    (["-,foo", "-"], 'E parseopts_table(): unknown option "foo"'),
    (["-"], 'E exactly 2 addresses required (there are 1); use option "-h" for help'),
    (["-", "-", "-"], 'E exactly 2 addresses required (there are 3); use option "-h" for help'),
    (["EXEC:echo:x", "-"], 'E "EXEC:echo": wrong number of parameters (2 instead of 1)'),
    (["STDIO:x", "-"], 'E STDIO: wrong number of parameters (1 instead of 0)'),
    (["PIPE:a:b", "-"], 'E PIPE: wrong number of parameters (2 instead of 1)'),
    (['SYSTEM:"echo', "-"], 'E unexpected end of address "SYSTEM:"echo"'),
    (["-,readbytes=x", "-"], 'E parseopts(): missing numerical value of option "readbytes=x"'),
    (["-,readbytes=5x", "-"], 'E parseopts(): trailing garbage in numerical arg of option "readbytes=5x"'),
    (["-,cr=1", "-"], 'E no value permitted for option "cr"'),
    (["-,path=/bin", "-"], 'E parseopts_table(): option "path" not supported with this address type'),
    (["-", "OPEN:/nonexistent/x"], 'E open("/nonexistent/x", 02, 0666): No such file or directory'),
    (["-Z", "-", "-"], 'E unknown option "-Z"; use option "-h" for help'),
    (["-u", "-U", "-", "-"], 'E -U and -u must not be combined'),
    (["-g", "-,fork", "-"], 'E applyopts(): option "fork" not implemented'),
]


@pytest.mark.parametrize("args,message", ERROR_CASES)
def test_error_message_and_exit_code(args, message):
    r = run_pysocat(*args)
    assert r.returncode == 1
    assert log_texts(r.stderr) == [message]
    assert b"Traceback" not in r.stderr


@needs_socat
@pytest.mark.parametrize("args,message", ERROR_CASES)
def test_error_matches_real_socat(args, message):
    r = run_socat(*args)
    assert r.returncode == 1
    assert log_texts(r.stderr) == [message]


def test_error_at_notice_level_logs_exit():
    r = run_pysocat("-dd", "FOO", "-")
    assert log_texts(r.stderr) == ['E unknown device/address "FOO"', "N exit(1)"]


def test_lp_sets_program_name():
    r = run_pysocat("-lp", "socat", "FOO", "-")
    line = r.stderr.decode().strip()
    assert " socat[" in line and line.endswith('E unknown device/address "FOO"')


def test_version_lists_features():
    r = run_pysocat("-V")
    out = r.stdout.decode()
    assert r.returncode == 0
    import re
    # test.sh reads the version as the last x.y.z on the second line
    assert re.findall(r" (\d+\.\d+\.\d\S*)", out.splitlines()[1])[-1] == "1.7.4.4"
    for f in ("STDIO", "FDNUM", "FILE", "CREAT", "GOPEN", "PIPE", "EXEC", "SYSTEM"):
        assert f"  #define WITH_{f} 1" in out
    assert "  #define WITH_READLINE 1" in out
    assert "  #undef WITH_FIPS" in out      # no row provides it


def test_help_lists_only_table_rows():
    out = run_pysocat("-hh").stdout.decode()
    assert "      exec:<command-line>\t" in out
    assert "      ignoreeof\tgroups=APPL\tphase=LATE\ttype=BOOL" in out
    assert "fips" not in out                # no rows for what pysocat does not do


def test_stdio_echo_both_ways():
    r = run_pysocat("-ddd", "-", "-", input=b"hello\n")
    assert r.returncode == 0
    assert r.stdout == b"hello\n"
    texts = log_texts(r.stderr)
    assert "N starting data transfer loop with FDs [0,1] and [0,1]" in texts
    assert "I transferred 6 bytes from 0 to 1" in texts
    assert texts[-1] == "N exiting with status 0"


@needs_socat
def test_stdio_log_lines_match_socat():
    a = log_texts(run_pysocat("-ddd", "-", "-", input=b"hello\n").stderr)
    b = log_texts(run_socat("-ddd", "-", "-", input=b"hello\n").stderr)
    assert a == b


@needs_socat
def test_D_describes_fds_like_socat():
    a = run_pysocat("-D", "-", "-", input=b"hi").stderr.decode().splitlines()
    b = run_socat("-D", "-", "-", input=b"hi").stderr.decode().splitlines()
    assert a[0] == b[0]                       # the header
    assert len(a) == len(b)
    for x, y in zip(a[1:], b[1:]):
        assert x.split("\t")[0] == y.split("\t")[0]   # fd and type
        assert len(x.split("\t")) == len(y.split("\t"))


def test_sloppy_reports_and_continues():
    r = run_pysocat("-s", "-,foo", "-", input=b"still here")
    assert r.returncode == 0 and r.stdout == b"still here"
    assert log_texts(r.stderr) == ['E parseopts_table(): unknown option "foo"']


def test_mixed_log_mode_leaves_stderr_when_loop_starts():
    # socat: "I switching to syslog" is the last line on stderr; the transfer
    # loop's notice already goes to syslog
    r = run_pysocat("-lm", "-dd", "-", "-", input=b"x")
    texts = log_texts(r.stderr)
    assert texts[-1] == "N reading from and writing to stdio"
    r = run_pysocat("-lm", "-ddd", "-", "-", input=b"x")
    assert log_texts(r.stderr)[-1] == "I switching to syslog"
