"""Runs a command in a pseudo-terminal and answers its consent questions: each time QUESTION
appears, types the next of ANSWERS (comma-separated). Copies what the terminal shows to stdout as
it comes; on SIGTERM, stops the command the same way and exits with its code.
Usage: ptyAnswer.py QUESTION ANSWERS COMMAND..."""
import os
import pty
import select
import signal
import sys

question, answers, argv = sys.argv[1].encode(), sys.argv[2].split(","), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)


def forward(signum, _frame):
    os.kill(pid, signum)


signal.signal(signal.SIGTERM, forward)
signal.signal(signal.SIGINT, forward)
seen = b""
asked = 0
while True:
    try:
        ready, _, _ = select.select([fd], [], [], 0.2)
    except InterruptedError:
        continue
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        seen += chunk
        while seen.count(question) > asked:
            answer = answers[asked] if asked < len(answers) else "d"
            asked += 1
            os.write(fd, answer.encode() + b"\r")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
