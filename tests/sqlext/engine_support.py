"""A second process holding the embedded engine, for tests of waiting and interrupts."""
import subprocess
import sys
import textwrap

HOLDER = textwrap.dedent("""
    import sys, time, sqlext
    s = sqlext.connect(dsn=sys.argv[1])
    mode = sys.argv[2]
    if mode == "hold":
        with s.unit_of_work():
            s.command("CREATE TABLE IF NOT EXISTS t (a Int32) ENGINE = MergeTree ORDER BY a")
            print("held", flush=True)
            if float(sys.argv[3]) < 0:  # until told: a line on stdin
                sys.stdin.readline()
            else:
                time.sleep(float(sys.argv[3]))
    else:  # idle: one query, then stay alive without using the engine
        s.command("CREATE TABLE IF NOT EXISTS t (a Int32) ENGINE = MergeTree ORDER BY a")
        s.command("INSERT INTO t VALUES (1)")
        print("idle", flush=True)
        time.sleep(float(sys.argv[3]))
""")


def start(dsn, mode, seconds, tag="holder-tag"):
    p = subprocess.Popen([sys.executable, "-c", HOLDER, dsn, mode, str(seconds), tag],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    assert line in ("held", "idle"), p.stderr.read()
    return p


def let_go(holder, timeout=120):
    """Tell a holder started with mode "hold" and -1 seconds to let go (a line on its stdin), and
    wait until it has exited; returns its exit status (it may have ended already)."""
    if holder.poll() is None:
        holder.stdin.write("go\n")
        holder.stdin.flush()
    return holder.wait(timeout=timeout)
