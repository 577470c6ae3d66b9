"""The ``notebook-secrets jupyterlab-bridge`` process: started, fed and restarted from here.

It speaks JSON lines on its stdin and stdout with this process only. Requests carry an id and
get one answer; events (consent questions, changes) are kept here for the panels, which wait for
them with a long poll. Nothing of a request or an answer is logged: values pass through in memory.
"""
import asyncio
import json
import os
import shlex
import shutil
import time

#: The longest line read from the bridge (a revealed value is at most 64 KiB; lists are longer).
MAX_LINE = 64 * 1024 * 1024

#: How long a panel's long poll waits for an event before it answers "nothing new".
POLL_SECONDS = 25.0
#: Restart delays after the bridge exited, in seconds (the last one repeats).
RESTART_DELAYS = (1, 2, 5, 10, 30)
#: How long a request waits for the bridge's answer.
REQUEST_SECONDS = 60.0


class BridgeUnavailable(Exception):
    """The bridge is not running; the message says why and what to do."""


def bridge_command():
    """``$NOTEBOOK_SECRETS_CLI jupyterlab-bridge``, else ``notebook-secrets`` on PATH."""
    configured = os.environ.get("NOTEBOOK_SECRETS_CLI")
    if configured:
        return shlex.split(configured) + ["jupyterlab-bridge"]
    found = shutil.which("notebook-secrets")
    return [found, "jupyterlab-bridge"] if found else None


def jupyter_url(serverapp):
    """This server's address as the bridge reaches it: loopback unless it listens elsewhere only."""
    ip = serverapp.ip
    if ip in ("", "0.0.0.0", "::", "*", "localhost"):
        ip = "127.0.0.1"
    if ":" in ip:
        ip = "[%s]" % ip
    scheme = "https" if serverapp.certfile else "http"
    return "%s://%s:%d%s" % (scheme, ip, serverapp.port, serverapp.base_url)


def jupyter_token(serverapp):
    """The token the bridge connects with: the server's own, or JupyterHub's for this server."""
    token = getattr(serverapp, "token", "") or ""
    if not token:
        identity = getattr(serverapp, "identity_provider", None)
        token = getattr(identity, "token", "") or ""
    return token or os.environ.get("JUPYTERHUB_API_TOKEN", "")


class Bridge:
    def __init__(self, serverapp, command=None):
        self.serverapp = serverapp
        self.log = serverapp.log
        self.command = command if command is not None else bridge_command()
        self.proc = None
        self.next_id = 0
        self.pending = {}
        self.problem = None
        self.started = None
        self.restarts = 0
        self.stopping = False
        # Events for the panels: a sequence number, the open consent questions, the kernels.
        self.seq = 0
        self.questions = []
        self.kernels = []
        self.changed = asyncio.Event()

    # -- life ---------------------------------------------------------------------------

    def start(self):
        if not self.command:
            self.problem = (
                "The notebook-secrets command is not installed on the machine that runs Jupyter. "
                "Install it (see the Notebook Secrets README), then restart the Jupyter server."
            )
            self.log.warning("Notebook Secrets: %s", self.problem)
            return
        asyncio.ensure_future(self._run())

    async def _run(self):
        delay_index = 0
        while not self.stopping:
            began = time.monotonic()
            try:
                await self._spawn()
                await self._init()
                self.problem = None
                self._bump()
                code = await self.proc.wait()
            except Exception as error:  # a failed start: reported, then retried
                code = None
                self.problem = "The Secrets panel's bridge did not start: %s" % error
                self.log.warning("Notebook Secrets: %s", self.problem)
                self._kill()
            self._fail_pending("The Secrets panel's bridge stopped; it is restarting.")
            self.questions = []
            self.kernels = []
            if self.stopping:
                return
            if time.monotonic() - began > 60:
                delay_index = 0
            delay = RESTART_DELAYS[min(delay_index, len(RESTART_DELAYS) - 1)]
            delay_index += 1
            self.restarts += 1
            if code is not None:
                self.problem = (
                    "The Secrets panel's bridge exited (%s); restarting in %d s. "
                    "The Jupyter server's log says why." % (code, delay)
                )
                self.log.warning("Notebook Secrets: %s", self.problem)
            self._bump()
            await asyncio.sleep(delay)

    async def _spawn(self):
        env = dict(os.environ)
        env.pop("JUPYTER_TOKEN", None)
        self.proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            limit=MAX_LINE,
        )
        asyncio.ensure_future(self._read_stdout(self.proc))
        asyncio.ensure_future(self._read_stderr(self.proc))

    async def _init(self):
        root = getattr(self.serverapp, "root_dir", None) or os.getcwd()
        await self._call(
            {
                "init": {
                    "jupyterUrl": jupyter_url(self.serverapp),
                    "token": jupyter_token(self.serverapp),
                    "rootDir": os.path.abspath(root),
                }
            }
        )

    def stop(self):
        self.stopping = True
        self._kill()

    def _kill(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()  # the bridge stops when its stdin ends
        except Exception:
            pass
        try:
            proc.terminate()
        except Exception:
            pass

    # -- the wire -------------------------------------------------------------------------

    async def _read_stdout(self, proc):
        while True:
            line = await proc.stdout.readline()
            if not line:
                return
            try:
                message = json.loads(line)
            except ValueError:
                self.log.debug("Notebook Secrets: the bridge printed a line that is not JSON")
                continue
            self._dispatch(message)

    async def _read_stderr(self, proc):
        while True:
            line = await proc.stderr.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip()
            if text.startswith("[warn]") or text.startswith("[error]"):
                self.log.warning("Notebook Secrets: %s", text)
            else:
                self.log.info("Notebook Secrets: %s", text)

    def _dispatch(self, message):
        if "event" in message:
            kind = message["event"]
            if kind == "questions":
                self.questions = message.get("questions", [])
            elif kind == "kernels":
                self.kernels = message.get("kernels", [])
            self._bump()
            return
        future = self.pending.pop(message.get("id"), None)
        if future is not None and not future.done():
            future.set_result(message)

    def _bump(self):
        self.seq += 1
        self.changed.set()
        self.changed = asyncio.Event()

    def _fail_pending(self, why):
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_result({"ok": False, "error": {"code": "unavailable", "message": why}})

    async def _call(self, message):
        proc = self.proc
        if proc is None:
            raise BridgeUnavailable(
                self.problem or "The Secrets panel's bridge is starting; try again in a moment."
            )
        self.next_id += 1
        ident = self.next_id
        future = asyncio.get_event_loop().create_future()
        self.pending[ident] = future
        data = json.dumps(dict(message, id=ident)).encode("utf-8") + b"\n"
        try:
            proc.stdin.write(data)
            await proc.stdin.drain()
            answer = await asyncio.wait_for(future, REQUEST_SECONDS)
        except (ConnectionError, asyncio.TimeoutError):
            self.pending.pop(ident, None)
            raise BridgeUnavailable("The Secrets panel's bridge did not answer; try again.")
        if not answer.get("ok"):
            error = answer.get("error") or {}
            raise BridgeError(error.get("code", "internal"), error.get("message", "Failed."))
        return answer.get("result")

    # -- what the handlers use -------------------------------------------------------------

    async def request(self, body):
        """One panel request, answered by the bridge; raises BridgeError or BridgeUnavailable."""
        return await self._call({"request": body})

    async def wait_events(self, after, timeout=POLL_SECONDS):
        """The panels' long poll: returns at once when seq > after, else on the next event."""
        if self.seq <= after:
            try:
                await asyncio.wait_for(self.changed.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return {
            "seq": self.seq,
            "questions": self.questions,
            "kernels": self.kernels,
            "problem": self.problem,
        }


class BridgeError(Exception):
    """An error answer of the bridge: a code and a message for the person who asked."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message
