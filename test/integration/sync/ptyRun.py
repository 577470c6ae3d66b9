"""Runs a command in a pseudo-terminal, types a line when PROMPT appears, prints JSON
{output, code}: what the terminal showed and the exit code. Used by the CLI tests."""
import json
import os
import pty
import select
import sys
import time

prompt, line, argv = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
output = b""
typed = False
deadline = time.time() + 30
eof_sent = False
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    if not typed and prompt in output:
        os.write(fd, line + b"\r")
        typed = True
        typed_at = time.time()
    elif typed and not eof_sent and time.time() - typed_at > 10:
        # A reader that waits for end of input (not a one-line prompt) gets Ctrl-D.
        os.write(fd, b"\x04")
        eof_sent = True
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": output.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status)}))
