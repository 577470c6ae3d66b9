"""Read secrets kept by Notebook Secrets from a notebook cell.

    from notebook_secrets import get_secret
    client = OpenAI(api_key=get_secret('OPENAI_API_KEY'))

The value never has to be written in the notebook. This module is standard library only
(Python 3.8+). It is injected into a kernel by the Notebook Secrets VS Code extension or by
`notebook-secrets attach`, together with an endpoint and a token that is valid for this kernel
only; it never receives values other than the ones a cell asks for, and never prints them.
Under `notebook-secrets run --kernels -- CMD` it is imported from the PYTHONPATH instead and
finds the endpoint and the token in NOTEBOOK_SECRETS_BROKER and NOTEBOOK_SECRETS_BROKER_TOKEN.
In the local kernels that VS Code's Jupyter extension starts, it is also imported from the
PYTHONPATH, which the Notebook Secrets extension sets in the environment those kernels inherit,
with NOTEBOOK_SECRETS_VSCODE_BROKER and NOTEBOOK_SECRETS_VSCODE_CLAIM: on its first call it
claims a token of its own from that broker, naming its notebook (`__vsc_ipynb_file__`, which the
Jupyter extension sets in each kernel it starts).

Two transports, picked here:
- the broker: HTTP/1.1 over a Unix socket (or 127.0.0.1) with a bearer token, connections kept
  alive per thread;
- in band: a custom IOPub message that the connected client answers with an `input_reply` on
  the stdin channel. It works while a cell is running, which comm messages do not.

In IPython kernels it also serves notebooks written for other platforms (Colab's userdata.get,
Kaggle's UserSecretsClient, Databricks' dbutils.secrets, SingleStore's and Hopsworks' get_secret)
when the notebook chose it, and puts the names a notebook lists in os.environ: see the section
"Other platforms' secret calls, and the kernel's environment" at the end.

In band, several clients may be attached to one kernel. Each injection adds that client's token
and makes it the first one asked (the newest injection wins); a client answers only the tokens
it issued and ignores the rest. When no client acknowledges a request within a second, the
helper asks again (a new message each time) with the next token it knows, so an earlier client
that is still attached takes over when the newest one leaves.
"""

import array
import base64
import bisect
import html
import http.client
import itertools
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
import weakref
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

__all__ = [
    "get_secret",
    "get_secret_bytes",
    "redact_outputs",
    "shell_environment",
    "SecretStr",
    "SecretNotFoundError",
    "SecretAccessError",
    "SecretsUnavailableError",
    "SecretTooLargeError",
]

__version__ = "1"

# Output redaction (see docs/get_secret.md): values shorter than this are not redacted, or every
# "1234" in an output would be replaced.
_REDACT_MIN_LEN = 6
# A run of this many characters of a value longer than that (or of its escaped or base64 form)
# is redacted too: a slice, a truncated table cell, a key cut by a line wrap. Why 16: see
# docs/get_secret.md.
_REDACT_RUN = 16
# A stream write that ends with the start of a value is held back at most this long, waiting
# for the rest, and at most this many characters.
_REDACT_HOLD_SECONDS = 0.5
_REDACT_HOLD_MAX = 4096

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_NAME = 128
_SCOPES = ("personal", "project", "team")
_ENABLE_HINT = (
    "In VS Code run 'Notebook Secrets: Enable get_secret for this notebook'; "
    "outside VS Code run `notebook-secrets attach --jupyter URL --token T`, or for a script or "
    "a headless notebook run `notebook-secrets run --kernels -- CMD`."
)
# Set by `notebook-secrets run --kernels` for the command it runs (and the kernels that command
# starts): where its broker listens and this run's token. Never a value.
_ENV_ENDPOINT = "NOTEBOOK_SECRETS_BROKER"
_ENV_TOKEN = "NOTEBOOK_SECRETS_BROKER_TOKEN"
# Set by the VS Code extension in its extension host, so that the local kernels the Jupyter
# extension starts there inherit them: the window's broker, and a claim token that only lets a
# kernel ask for a token of its own, naming its notebook. Never a value.
_ENV_VSCODE_ENDPOINT = "NOTEBOOK_SECRETS_VSCODE_BROKER"
_ENV_VSCODE_CLAIM = "NOTEBOOK_SECRETS_VSCODE_CLAIM"
_BROKER_PATH = "/v1/secret"
_CLAIM_PATH = "/v1/claim"

# In-band protocol: see src/core/brokerProtocol.ts.
_INBAND_MSG_TYPE = "notebook_secrets_request"
_INBAND_REPLY_KEY = "notebook_secrets_reply"
# The Jupyter server drops IOPub messages above 1,000/s (iopub_msg_rate_limit); stay well under.
_INBAND_MAX_PER_SECOND = 400
# No acknowledgement within this time (from the first message, or since the last keep-alive of
# the client working on it): no client answers. Documented in docs/get_secret.md.
_INBAND_ACK_TIMEOUT = 5.0
_INBAND_RESEND_EVERY = 1.0
# An acknowledged request may wait this long (e.g. for a consent prompt).
_INBAND_ANSWER_TIMEOUT = 300.0
# Tokens of earlier injections kept for in-band requests.
_INBAND_MAX_TOKENS = 4


class SecretNotFoundError(KeyError):
    """No secret of that name is available to this notebook."""

    def __str__(self):
        # KeyError.__str__ shows the repr of its argument; show the message as written.
        return str(self.args[0]) if self.args else ""


class SecretAccessError(PermissionError):
    """The user denied this notebook access to the secret."""


class SecretsUnavailableError(RuntimeError):
    """Secrets cannot be read right now (not enabled, broker gone, no client answering)."""


class SecretTooLargeError(SecretsUnavailableError):
    """The stored value is larger than a kernel may receive."""


class SecretStr(str):
    """A str that behaves and prints as the value, but whose repr is masked.

    A cell whose last line is `get_secret('X')` shows `<secret 'X'>`, not the value.
    It pickles (and copies) as a plain str.
    """

    _secret_name: str

    def __new__(cls, value, name):
        self = str.__new__(cls, value)
        self._secret_name = name
        return self

    def __repr__(self):
        return "<secret %r>" % (self._secret_name,)

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))

    def __reduce__(self):
        return (str, (str.__str__(self),))

    def __reduce_ex__(self, protocol):
        return self.__reduce__()


class _Config:
    __slots__ = ("endpoint", "token", "inband", "notebook", "from_env", "claim")

    def __init__(self, endpoint, token, inband, notebook, from_env=False, claim=None):
        self.endpoint = endpoint
        self.token = token
        self.inband = inband
        self.notebook = notebook
        self.from_env = from_env
        # (endpoint, claim token) when the token was claimed from a VS Code window, to claim again
        # once if the window stops accepting it.
        self.claim = claim


def _file_digest():
    """The SHA-256 of this file when it was imported from one (the PYTHONPATH): the injected
    set-up compares it with its own copy's, so a kernel that imported this very helper keeps its
    module, and the names its cells imported from it, when VS Code sets it up later."""
    path = globals().get("__file__")
    if not isinstance(path, str) or not path.endswith(".py"):
        return None
    try:
        import hashlib

        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


_source_digest = _file_digest()
_config = None
_config_lock = threading.Lock()
_transport = None  # type: Optional[Union[_BrokerTransport, _InbandTransport]]
# In-band tokens, the one to ask first at the front: the newest injection, then the client that
# last answered.
_inband_tokens = []  # type: List[str]


def _configure(token, endpoint=None, inband=False, notebook=None, redact=None, environment=None):
    """Called by the injected code; not part of the public API."""
    global _config, _transport
    if not isinstance(token, str) or not token:
        raise ValueError("a token is required")
    if environment:
        _environment.invited = True
    if redact is not None:
        redact_outputs(redact)
    with _config_lock:
        old = _transport
        # A client that answered in band before (a Jupyter server added in VS Code, attach) stays
        # the fallback when a later injection names a broker this kernel cannot reach: VS Code
        # sets up every kernel it starts, also those on another machine.
        _config = _Config(endpoint, token, bool(inband) or bool(_inband_tokens), notebook)
        _transport = None
        if inband:
            _prefer_token(token)
            del _inband_tokens[_INBAND_MAX_TOKENS:]
    if old is not None:
        old.close()
    _install_kernel_hooks()


def _config_from_env():
    """The broker of `notebook-secrets run --kernels` when this process runs under it, else the
    VS Code window that started this kernel, which this call claims a token from."""
    import os

    endpoint = os.environ.get(_ENV_ENDPOINT, "")
    token = os.environ.get(_ENV_TOKEN, "")
    if endpoint and token:
        return _Config(endpoint, token, False, None, from_env=True)
    endpoint = os.environ.get(_ENV_VSCODE_ENDPOINT, "")
    claim = os.environ.get(_ENV_VSCODE_CLAIM, "")
    if not endpoint or not claim:
        return None
    token = _claim(endpoint, claim)
    # Claimed once per kernel: the commands this kernel runs from now on (`!pip …`) do not inherit
    # the window's claim token.
    for key in (_ENV_VSCODE_ENDPOINT, _ENV_VSCODE_CLAIM):
        os.environ.pop(key, None)
    return _Config(endpoint, token, False, None, claim=(endpoint, claim))


def _claim_again(cfg):
    """The window stopped accepting a claimed token (the Jupyter extension denied kernel access,
    or the token was replaced): claim once more; the window's refusal says what to do."""
    global _config, _transport
    endpoint, claim = cfg.claim
    token = _claim(endpoint, claim)
    with _config_lock:
        if _config is cfg:
            _config = _Config(endpoint, token, False, None, claim=cfg.claim)
            _transport = None
    return _select_transport()


def _claim(endpoint, claim):
    """A token of this kernel's own from the VS Code window that started it."""
    import sys

    notebook = getattr(sys.modules.get("__main__"), "__vsc_ipynb_file__", None)
    if not isinstance(notebook, str) or not notebook:
        raise SecretsUnavailableError(
            "This kernel does not know which notebook it runs (VS Code's Jupyter extension names "
            "it only in notebook kernels it started itself). " + _ENABLE_HINT
        )
    try:
        answer = _BrokerTransport(endpoint, claim, timeout=30.0).request(
            {"notebook": notebook}, path=_CLAIM_PATH
        )
    except _BrokerGone:
        raise SecretsUnavailableError(
            "The VS Code window that started this kernel is closed or its Notebook Secrets "
            "extension restarted. Restart the kernel from VS Code."
        ) from None
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        raise SecretsUnavailableError(str(error.get("message") or error.get("code")))
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise SecretsUnavailableError("Notebook Secrets sent a malformed answer to this kernel.")
    return token


def _inherit(previous):
    """Called by the injected code when it replaces an earlier helper module of this kernel."""
    tokens = getattr(previous, "_inband_tokens", None)
    if isinstance(tokens, list):
        with _config_lock:
            _inband_tokens[:] = [t for t in tokens if isinstance(t, str) and t][:_INBAND_MAX_TOKENS]
    # The values the earlier helper served stay redacted, by this helper's code from now on.
    old = getattr(previous, "_redactor", None)
    served = getattr(old, "served", None)
    if old is not None and isinstance(served, list):
        try:
            old.uninstall()
        except Exception:
            pass
        _redactor.enabled = bool(getattr(old, "enabled", True))
        for name, value in served:
            _redactor.add(name, value)
    _inherit_environment(previous)


def _prefer_token(token):
    # Callers hold _config_lock or accept a benign race on the order of a short list.
    if token in _inband_tokens:
        _inband_tokens.remove(token)
    _inband_tokens.insert(0, token)


def _is_configured():
    return _config is not None


# ---------------------------------------------------------------------------------------------
# Broker transport


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _BrokerTransport:
    name = "broker"

    def __init__(self, endpoint, token, timeout=330.0):
        self._endpoint = endpoint
        self._auth = "Bearer " + token
        self._timeout = timeout
        self._local = threading.local()
        # Weak: a thread's connection closes when the thread ends, so short-lived threads do
        # not pile up open sockets.
        self._all = weakref.WeakSet()  # type: weakref.WeakSet[http.client.HTTPConnection]
        self._all_lock = threading.Lock()

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            ep = self._endpoint
            if ep.startswith("unix:"):
                conn = _UnixHTTPConnection(ep[5:], self._timeout)
            elif ep.startswith("http://"):
                hostport = ep[7:].rstrip("/")
                host, _, port = hostport.rpartition(":")
                conn = http.client.HTTPConnection(host, int(port), timeout=self._timeout)
            else:
                raise SecretsUnavailableError("Unsupported broker endpoint. " + _ENABLE_HINT)
            self._local.conn = conn
            with self._all_lock:
                self._all.add(conn)
        return conn

    def _drop(self):
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def reachable(self):
        ep = self._endpoint
        if ep.startswith("unix:"):
            import os

            return os.path.exists(ep[5:])
        return True

    def request(self, payload, path=_BROKER_PATH):
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        headers = {
            "Authorization": self._auth,
            "Content-Type": "application/json",
            "Connection": "keep-alive",
        }
        throttled_until = time.monotonic() + 30.0
        retried = False
        while True:
            conn = self._connection()
            try:
                conn.request("POST", path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
            except (ConnectionRefusedError, FileNotFoundError) as exc:
                self._drop()
                raise _BrokerGone() from exc
            except socket.timeout:
                self._drop()
                raise SecretsUnavailableError(
                    "The Notebook Secrets broker did not answer in time (is a consent prompt "
                    "waiting in VS Code?). Answer it and call get_secret again."
                ) from None
            except (http.client.HTTPException, ConnectionError, BrokenPipeError, OSError):
                # A kept-alive connection the broker closed while idle: reconnect once.
                self._drop()
                if retried:
                    raise _BrokerGone() from None
                retried = True
                continue
            if resp.getheader("Connection", "").lower() == "close":
                self._drop()
            if resp.status == 429 and time.monotonic() < throttled_until:
                try:
                    wait = float(resp.getheader("Retry-After", "0.05"))
                except ValueError:
                    wait = 0.05
                time.sleep(min(max(wait, 0.001), 1.0))
                continue
            try:
                return json.loads(data.decode("utf-8"))
            except ValueError:
                raise SecretsUnavailableError(
                    "The Notebook Secrets broker sent a malformed answer (HTTP %d)." % resp.status
                ) from None

    def close(self):
        with self._all_lock:
            conns = list(self._all)
            self._all = weakref.WeakSet()
        for conn in conns:
            try:
                conn.close()
            except Exception:
                pass


class _BrokerGone(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# In-band transport (IOPub request, stdin reply)


class _InbandTransport:
    name = "inband"

    def __init__(self, token):
        self._token = token
        self._lock = threading.Lock()
        self._sent = []  # monotonic times of recent requests, for pacing

    @staticmethod
    def _kernel():
        try:
            from ipykernel.kernelapp import IPKernelApp
        except ImportError:
            return None
        if not IPKernelApp.initialized():
            return None
        return IPKernelApp.instance().kernel

    @classmethod
    def available(cls):
        return cls._kernel() is not None

    def _pace(self):
        now = time.monotonic()
        sent = self._sent
        while sent and now - sent[0] >= 1.0:
            sent.pop(0)
        if len(sent) >= _INBAND_MAX_PER_SECOND:
            time.sleep(max(0.0, 1.0 - (now - sent[0])))
            sent.pop(0)
        sent.append(time.monotonic())

    def _tokens(self):
        with _config_lock:
            tokens = list(_inband_tokens)
        return tokens or [self._token]

    def request(self, payload):
        kernel = self._kernel()
        if kernel is None:
            raise SecretsUnavailableError(
                "get_secret's in-band channel needs an IPython kernel (ipykernel). " + _ENABLE_HINT
            )
        import zmq  # present in every ipykernel

        req_id = uuid.uuid4().hex
        tokens = self._tokens()
        try:
            parent = kernel.get_parent("shell")
        except Exception:  # older ipykernel
            parent = getattr(kernel, "_parent_header", {}) or {}
        with self._lock:
            stdin = kernel.stdin_socket
            session = kernel.session
            # Discard stale replies (e.g. answers that arrived after an earlier timeout). EAGAIN
            # means the queue is empty; any other error (a closed socket, a terminated context)
            # is raised, as ipykernel's own input_request does.
            while True:
                try:
                    stdin.recv_multipart(zmq.NOBLOCK)
                except zmq.ZMQError as e:
                    if e.errno == zmq.EAGAIN:
                        break
                    raise
            self._pace()
            sent = {}  # msg_id of each message sent -> the token it carried

            def send(token):
                request = dict(payload)
                request.update({"v": 1, "id": req_id, "token": token})
                # A new message (msg_id, date, signature) every time: a Jupyter server refuses a
                # repeated signature and then stops relaying this kernel's IOPub to its clients.
                msg = session.msg(_INBAND_MSG_TYPE, content={"request": request}, parent=parent)
                sent[msg["header"]["msg_id"]] = token
                session.send(kernel.iopub_socket, msg)

            attempt = 0
            send(tokens[0])
            start = time.monotonic()
            last_send = start
            last_heard = None  # time of the last acknowledgement or keep-alive
            while True:
                now = time.monotonic()
                if last_heard is None and now - start > _INBAND_ACK_TIMEOUT:
                    raise SecretsUnavailableError(
                        "No Notebook Secrets client answered this kernel within %g s. %s"
                        % (_INBAND_ACK_TIMEOUT, _ENABLE_HINT)
                    )
                if last_heard is not None and now - last_heard > _INBAND_ACK_TIMEOUT:
                    raise SecretsUnavailableError(
                        "The Notebook Secrets client stopped answering this kernel (it was closed "
                        "or lost its connection). Call get_secret again once it is back. "
                        + _ENABLE_HINT
                    )
                if now - start > _INBAND_ANSWER_TIMEOUT:
                    raise SecretsUnavailableError(
                        "The Notebook Secrets client did not answer in time; try again."
                    )
                if last_heard is None and now - last_send >= _INBAND_RESEND_EVERY:
                    attempt += 1
                    send(tokens[attempt % len(tokens)])
                    last_send = now
                if not stdin.poll(50):
                    continue
                try:
                    _, reply = session.recv(stdin, zmq.NOBLOCK)
                except Exception:
                    continue
                if not reply or reply.get("msg_type") != "input_reply":
                    continue
                value = reply.get("content", {}).get("value")
                try:
                    answer = json.loads(value)[_INBAND_REPLY_KEY]
                except (TypeError, ValueError, KeyError):
                    continue
                if not isinstance(answer, dict) or answer.get("id") != req_id:
                    continue
                token = sent.get((reply.get("parent_header") or {}).get("msg_id"))
                if token is not None and token != tokens[0]:
                    # Ask the client that answered first next time.
                    with _config_lock:
                        if token in _inband_tokens:
                            _prefer_token(token)
                    tokens.remove(token)
                    tokens.insert(0, token)
                if answer.get("ack"):
                    last_heard = time.monotonic()
                    continue
                return answer

    def close(self):
        pass


# ---------------------------------------------------------------------------------------------


def _select_transport():
    global _config, _transport
    cfg = _config
    if cfg is None:
        # Not injected: a process started by `notebook-secrets run --kernels` (an injection
        # later still wins, since it sets _config).
        with _config_lock:
            if _config is None:
                _config = _config_from_env()
            cfg = _config
    if cfg is None:
        raise SecretsUnavailableError(
            "get_secret is not enabled in this kernel (or the kernel restarted since). "
            + _ENABLE_HINT
        )
    with _config_lock:
        if _transport is not None and _config is cfg:
            return _transport
        transport = None  # type: Optional[Union[_BrokerTransport, _InbandTransport]]
        if cfg.endpoint:
            broker = _BrokerTransport(cfg.endpoint, cfg.token)
            if broker.reachable() or not (cfg.inband and _InbandTransport.available()):
                transport = broker
        if transport is None and cfg.inband:
            transport = _InbandTransport(cfg.token)
        if transport is None:
            raise SecretsUnavailableError("get_secret has no transport configured. " + _ENABLE_HINT)
        _transport = transport
        return transport


def _fall_back_to_inband(failed):
    global _transport
    cfg = _config
    with _config_lock:
        if cfg is not None and cfg.inband and _transport is failed:
            _transport = _InbandTransport(cfg.token)
            return _transport
    return None


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError("get_secret expects the secret's name as a str, got %s" % type(name).__name__)
    if not name or len(name) > _MAX_NAME or not _NAME_RE.match(name):
        raise ValueError(
            "%r is not a valid secret name: use 1-128 letters, digits or underscores, "
            "starting with a letter or underscore." % (name[:140],)
        )


def _fetch(name, scope):
    _check_name(name)
    if scope is not None and scope not in _SCOPES:
        raise ValueError("scope must be None, 'personal', 'project' or 'team', not %r" % (scope,))
    payload = {"name": name}
    if scope is not None:
        payload["scope"] = scope
    transport = _select_transport()
    try:
        answer = transport.request(payload)
    except _BrokerGone:
        fallback = _fall_back_to_inband(transport)
        if fallback is None and getattr(_config, "from_env", False):
            raise SecretsUnavailableError(
                "The Notebook Secrets broker of `notebook-secrets run --kernels` is not reachable: "
                "the run that started this process has ended. Start the command again under "
                "`notebook-secrets run --kernels -- CMD`."
            ) from None
        if fallback is None:
            raise SecretsUnavailableError(
                "The Notebook Secrets broker is not reachable from this kernel: VS Code was closed "
                "or the extension restarted (reopen the notebook in VS Code and run 'Notebook "
                "Secrets: Enable get_secret for this notebook' again), or the kernel runs on "
                "another machine (connect its server with 'Notebook Secrets: Add Jupyter "
                "Server...' or `notebook-secrets attach`)."
            ) from None
        answer = fallback.request(payload)
    cfg = _config
    if _error_code(answer) == "unauthorized" and cfg is not None and cfg.claim is not None:
        answer = _claim_again(cfg).request(payload)
    return _unpack(name, answer)


def _error_code(answer):
    error = answer.get("error") if isinstance(answer, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def _unpack(name, answer):
    if not isinstance(answer, dict):
        raise SecretsUnavailableError("Notebook Secrets sent a malformed answer.")
    error = answer.get("error")
    if error is not None:
        code = error.get("code") if isinstance(error, dict) else None
        message = (error.get("message") if isinstance(error, dict) else None) or str(code)
        if code == "not_found":
            raise SecretNotFoundError(message)
        if code == "access_denied":
            raise SecretAccessError(message)
        if code == "value_too_large":
            raise SecretTooLargeError(message)
        if code == "unauthorized":
            raise SecretsUnavailableError(message + " " + _ENABLE_HINT)
        if code == "invalid_input":
            raise ValueError(message)
        raise SecretsUnavailableError(message)
    value = answer.get("value")
    encoding = answer.get("encoding", "text")
    if not isinstance(value, str) or encoding not in ("text", "base64"):
        raise SecretsUnavailableError("Notebook Secrets sent a malformed answer for %r." % name)
    return value, encoding


def get_secret(name, *, scope=None):
    """Returns the value of the secret `name` as a str (its repr is masked).

    `scope` ('personal', 'project' or 'team') picks one scope; by default the narrowest scope
    that has the name wins (personal > project > team).

    Raises SecretNotFoundError (a KeyError), SecretAccessError (a PermissionError) when the user
    denied access, SecretTooLargeError when the value is over the limit, and
    SecretsUnavailableError (a RuntimeError) when secrets cannot be reached.
    """
    value, encoding = _fetch(name, scope)
    if encoding == "base64":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ValueError(
                "%r is a binary file secret; read it with get_secret_bytes(%r)." % (name, name)
            ) from None
    _redactor.add(name, value)
    return SecretStr(value, name)


def get_secret_bytes(name, *, scope=None):
    """Returns the secret `name` as bytes: a file secret's bytes, or a text secret as UTF-8."""
    value, encoding = _fetch(name, scope)
    if encoding == "base64":
        try:
            data = base64.b64decode(value, validate=True)
        except ValueError:
            raise SecretsUnavailableError("The stored file %r is not valid base64." % name) from None
    else:
        data = value.encode("utf-8")
    _redactor.add(name, data)
    return data


def redact_outputs(enabled=True):
    """Turns redaction of served values in this kernel's outputs on (the default) or off.

    While on, every value get_secret or get_secret_bytes returned in this kernel, its common
    encodings and escapings, and any run of 16 or more of its characters, is replaced by
    `[secret NAME]` in what the kernel sends to frontends: stream output, rich display and
    results (text-like MIME types, metadata, dict keys), errors, the pager and user_expressions
    of execute replies, the inspector's replies and input prompts. Returns the previous setting.
    """
    previous = _redactor.enabled
    _redactor.enabled = bool(enabled)
    if not enabled:
        _redactor.flush_held()
    return previous


# ---------------------------------------------------------------------------------------------
# Redaction of served values in what the kernel sends to frontends
#
# One wrapper on the kernel's Session.send sees every message before it is signed: IOPub
# (stream, display_data, execute_result, update_display_data, error), the shell's execute_reply
# (an error's evalue and traceback, the pager's payloads, user_expressions) and inspect_reply,
# and stdin's input_request. Every string of their content is matched, dict keys included.
# execute_input, the cell's own source, is left alone.

_REDACT_MSG_TYPES = frozenset(
    (
        "stream",
        "display_data",
        "execute_result",
        "update_display_data",
        "error",
        "execute_reply",
        # Not saved in the notebook, but shown: the inspector (Shift+Tab) and input()'s prompt.
        "inspect_reply",
        "input_request",
    )
)

# LaTeX escapes as R's repr (braces) and pandas (a space, no `|`) write them.
_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
}
_LATEX_BRACES = str.maketrans(_LATEX)
_LATEX_SPACE = str.maketrans({c: e.replace("{}", " ") for c, e in _LATEX.items() if c != "|"})
# JSON as written into HTML pages (Jinja's tojson and others).
_JSON_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


def _encoded_forms(value):
    """The value and the forms a notebook commonly shows it in: form -> whether a long run of
    it counts (the value as text, escaped, percent-encoded or base64) or only the whole of it
    (hex)."""
    forms = {}
    if isinstance(value, bytes):
        data = value
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    else:
        text = str.__str__(value)
        data = text.encode("utf-8")
    if len(text.strip() if text is not None else data) < _REDACT_MIN_LEN:
        # Nor its encodings: a 4-digit PIN's hex would otherwise be replaced everywhere.
        return {}
    if text is not None:
        stripped = text.strip()
        for t in (text, stripped):
            as_json = json.dumps(t)[1:-1]
            for form in (
                t,
                as_json,
                json.dumps(t, ensure_ascii=False)[1:-1],
                as_json.translate(_JSON_HTML_SAFE),
                repr(t)[1:-1],
                urllib.parse.quote(t, safe=""),
                urllib.parse.quote(t),
                urllib.parse.quote_plus(t, safe=""),
                t.translate(_LATEX_BRACES),
                t.translate(_LATEX_SPACE),
            ):
                forms[form] = True
        data_forms = (data, stripped.encode("utf-8"))  # type: Tuple[bytes, ...]
    else:
        data_forms = (data,)
    for d in data_forms:
        for enc in (base64.b64encode(d).decode("ascii"), base64.urlsafe_b64encode(d).decode("ascii")):
            forms[enc] = True
            forms[enc.rstrip("=")] = True
        forms.setdefault(d.hex(), False)
        forms.setdefault(d.hex().upper(), False)
    return {f: runs for f, runs in forms.items() if len(f) >= _REDACT_MIN_LEN}


def _trie_pattern(words):
    """One regular expression matching any of `words`, built as a trie so that matching costs
    about the same for one value or a thousand (an alternation would try each in turn)."""
    root = {}  # type: Dict[str, Any]
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = None

    def build(node):
        # Iterative along single-child chains, so a 64 KiB value does not recurse 64 K deep.
        parts = []
        while True:
            keys = [k for k in node if k != ""]
            if "" not in node and len(keys) == 1:
                parts.append(re.escape(keys[0]))
                node = node[keys[0]]
                continue
            break
        if not keys:
            return "".join(parts)
        alts = [re.escape(k) + build(node[k]) for k in sorted(keys)]
        group = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            # Greedy: the longer value wins over a shorter one it starts with.
            group = "(?:" + group + ")?"
        return "".join(parts) + group

    return re.compile(build(root))


# The matcher reads a text's UTF-8 in aligned words of this many bytes: one set lookup per word
# finds every shared run of 2 * _WORD - 1 bytes or more, whatever its alignment.
_WORD = 8
# A word several places of the forms hold is followed to at most this many of them.
_MAX_TRIES = 16
# Forms too short for the words are searched for one by one up to this many, else by a pattern.
_MAX_FINDS = 16
# A line break and the next line's indentation, inside a value cut by a line wrap.
_WRAP = re.compile(rb"\r?\n[ \t]*")
_SPACE = frozenset(b" \t\r\n\x0b\x0c")


def _same_length(a, i, b, j, limit, ahead=True):
    """How many bytes a and b have in common from offsets i and j, at most `limit`: going
    ahead (a[i:], b[j:]) or back (a[:i], b[:j])."""

    def same(n, k):
        if ahead:
            return a[i + n : i + n + k] == b[j + n : j + n + k]
        return a[i - n - k : i - n] == b[j - n - k : j - n]

    n = 0
    step = 16
    while n < limit:
        k = min(step, limit - n)
        if same(n, k):
            n += k
            step <<= 1
            continue
        lo, hi = 0, k - 1
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if same(n, mid):
                lo = mid
            else:
                hi = mid - 1
        return n + lo
    return n


class _Matcher:
    """Where served values and their forms stand in a text, as (start, end, name) spans.

    Forms of 2 * _WORD - 1 bytes or more are found through their 8-byte words. An index holds
    every word of each form that counts by its runs (of the others, one word per offset modulo
    _WORD, enough to find the whole of it): a set, and sorted arrays of the words and of where
    the forms hold them. A text is read as aligned words: one C-level set lookup per 8 bytes,
    whatever the number of values. A word found
    is followed into the forms and the match grown both ways, also across a line break; it
    counts when it covers a whole form, or _REDACT_RUN characters of one that counts by its
    runs. Words of fewer than 3 distinct bytes (`xxxxxxxx`, indentation) are left out, or every
    such text would be followed; forms that cannot be found without them, and shorter forms,
    are searched for one by one (with a trie pattern when there are many).
    """

    def __init__(self, forms):
        self.names = []
        self.runs = []
        self.starts = []
        self.ends = []
        keys = array.array("Q")  # the words ...
        at = array.array("q")  # ... and where self.hay holds each
        short = {}
        hay = bytearray()
        to_int = int.from_bytes
        order = sys.byteorder
        for form, (name, runs) in forms.items():
            data = form.encode("utf-8", "surrogatepass")
            if len(data) < 2 * _WORD - 1:
                short[form] = name
                continue
            hay += b"\0"
            start = len(hay)
            self.names.append(name)
            self.runs.append(runs)
            self.starts.append(start)
            hay += data
            self.ends.append(len(hay))
            # A whole occurrence is read at form offsets r, r + _WORD, ... for one r < _WORD:
            # each r needs a word in the index.
            missing = set(range(_WORD))
            for k in range(len(data) - _WORD + 1):
                if not runs and k % _WORD not in missing:
                    continue
                word = data[k : k + _WORD]
                if len(set(word)) < 3:
                    continue
                missing.discard(k % _WORD)
                keys.append(to_int(word, order))
                at.append(start + k)
            if missing:
                short[form] = name
        self.hay = bytes(hay + b"\0")
        # Sorted arrays hold a word's place in 16 bytes, where a dict of ints takes some 180.
        by_word = sorted(range(len(keys)), key=keys.__getitem__)
        self.keys = array.array("Q", map(keys.__getitem__, by_word))
        self.at = array.array("q", map(at.__getitem__, by_word))
        self.words = frozenset(keys)
        self.short_names = short
        # str.find per form is fastest for a few; a trie pattern costs less than many finds.
        self.short = sorted(short, key=len, reverse=True)
        self.short_pattern = _trie_pattern(self.short) if len(short) > _MAX_FINDS else None

    def spans(self, text):
        found = []
        if self.words:
            data = text.encode("utf-8", "surrogatepass")
            m = len(data) // _WORD
            if m:
                words = array.array("Q")
                words.frombytes(memoryview(data)[: m * _WORD])
                if not self.words.isdisjoint(words):
                    found.extend(_char_spans(text, data, self._grown(data, words)))
        if self.short_pattern is not None:
            names = self.short_names
            for match in self.short_pattern.finditer(text):
                found.append((match.start(), match.end(), names.get(match.group(0), "?")))
        else:
            for form in self.short:
                at = text.find(form)
                while at >= 0:
                    found.append((at, at + len(form), self.short_names[form]))
                    at = text.find(form, at + len(form))
        return found

    def _grown(self, data, words):
        """Byte spans of the matches through the words of `data` that the index holds."""
        keys = self.keys
        hits = list(itertools.compress(range(len(words)), map(self.words.__contains__, words)))
        following = set(hits)
        spans = []
        covered = 0
        waiting = []
        for i in hits:
            p = i * _WORD
            if p < covered:
                continue
            word = words[i]
            at = bisect.bisect_left(keys, word)
            if i + 1 in following and at + 1 < len(keys) and keys[at + 1] == word:
                # A word several forms hold (a provider's key prefix): the next word's match
                # grows back over it, and it is followed only if that one does not.
                waiting.append((p, at))
                continue
            span = self._grow(data, p, at)
            for q, q_at in waiting:
                if q >= covered and (span is None or q < span[0]):
                    earlier = self._grow(data, q, q_at)
                    if earlier is not None:
                        spans.append(earlier)
                        covered = earlier[1]
            waiting = []
            if span is not None:
                spans.append(span)
                covered = max(covered, span[1])
        return spans

    def _grow(self, data, p, at):
        """The longest match that counts through the word at byte `p`, whose first entry in the
        index is `at` (at most _MAX_TRIES of its places are followed), as a byte span."""
        hay = self.hay
        best = None
        word = self.keys[at]
        for j in range(at, min(at + _MAX_TRIES, len(self.keys))):
            if self.keys[j] != word:
                break
            q = self.at[j]
            i = bisect.bisect_right(self.starts, q) - 1
            fs, fe = self.starts[i], self.ends[i]
            ahead = min(len(data) - p, fe - q) - _WORD
            r = _same_length(data, p + _WORD, hay, q + _WORD, ahead)
            left = _same_length(data, p, hay, q, min(p, q - fs), ahead=False)
            a, b, fa, fb = p - left, p + _WORD + r, q - left, q + _WORD + r
            if not (fa == fs and fb == fe):
                if not self.runs[i]:
                    continue
                a, b, fa, fb = _across_wraps(data, hay, a, b, fa, fb, fs, fe)
                if not _is_run(hay, fa, fb):
                    continue
                # Not the whole value: the spaces around a run are left to the text (a padded
                # value's padding next to its stripped form) when the rest is a run.
                ta, tb, tfa, tfb = a, b, fa, fb
                while ta < tb and data[ta] in _SPACE:
                    ta, tfa = ta + 1, tfa + 1
                while tb > ta and data[tb - 1] in _SPACE:
                    tb, tfb = tb - 1, tfb - 1
                if _is_run(hay, tfa, tfb):
                    a, b = ta, tb
            if best is None or b - a > best[1] - best[0]:
                best = (a, b, self.names[i])
        return best


def _is_run(data, a, b):
    """Whether data[a:b] (UTF-8) holds at least _REDACT_RUN characters."""
    if b - a >= 4 * _REDACT_RUN:
        return True
    # UTF-8 continuation bytes do not start a character.
    return (b - a) - sum(1 for c in data[a:b] if 0x80 <= c < 0xC0) >= _REDACT_RUN


def _across_wraps(data, hay, a, b, fa, fb, fs, fe):
    """Grows a match of hay[fa:fb] at data[a:b] over line breaks (and the next line's
    indentation) that cut the form: each piece must be 8 bytes or end the form, and hold more
    than spaces."""
    while fb < fe:
        wrap = _WRAP.match(data, b)
        if wrap is None:
            break
        c = wrap.end()
        k = _same_length(data, c, hay, fb, min(len(data) - c, fe - fb))
        if k == 0 or (k < _WORD and fb + k != fe) or not data[c : c + k].strip():
            break
        b, fb = c + k, fb + k
    while fa > fs:
        j = a
        while j > 0 and data[j - 1] in b" \t":
            j -= 1
        if j == 0 or data[j - 1] != 0x0A:
            break
        j -= 1
        if j > 0 and data[j - 1] == 0x0D:
            j -= 1
        k = _same_length(data, j, hay, fa, min(j, fa - fs), ahead=False)
        if k == 0 or (k < _WORD and fa - k != fs) or not data[j - k : j].strip():
            break
        a, fa = j - k, fa - k
    return a, b, fa, fb


def _char_spans(text, data, spans):
    """Byte spans of `data` (text's UTF-8) as character spans of `text`."""
    if len(data) == len(text):
        return spans
    # A match may end inside a character whose first bytes a value shares: keep whole ones.
    fixed = []
    for a, b, name in spans:
        while a < b and 0x80 <= data[a] < 0xC0:
            a += 1
        while b < len(data) and a < b and 0x80 <= data[b] < 0xC0:
            b -= 1
        if a < b:
            fixed.append((a, b, name))
    chars = {}
    at_byte = at_char = 0
    for offset in sorted({x for a, b, _ in fixed for x in (a, b)}):
        at_char += len(data[at_byte:offset].decode("utf-8", "surrogatepass"))
        at_byte = offset
        chars[offset] = at_char
    return [(chars[a], chars[b], name) for a, b, name in fixed]


def _decode_reference(ref):
    char = html.unescape(ref)
    return char if char != ref else None


def _decode_percent(run):
    try:
        return bytes.fromhex(run.replace("%", "")).decode("utf-8")
    except ValueError:
        return None


# Escapings undone before matching, whatever their variant: HTML character references (named
# or numeric, quotes escaped or not) and percent-encoding (any set of characters kept): the
# character that starts one, its pattern and its decoder.
_VIEWS = (
    (
        "&",
        re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});?"),
        _decode_reference,
    ),
    ("%", re.compile(r"(?:%[0-9A-Fa-f]{2})+"), _decode_percent),
)


def _decoded(text, pattern, decode):
    """`text` with what `pattern` finds decoded, and where each decoded piece stood: (decoded,
    [(start, end) in decoded, (start, end) in text]), or None when nothing was decoded."""
    parts = []
    marks = []
    last = 0
    at = 0
    for m in pattern.finditer(text):
        piece = decode(m.group(0))
        if piece is None:
            continue
        parts.append(text[last : m.start()])
        at += m.start() - last
        marks.append((at, at + len(piece), m.start(), m.end()))
        parts.append(piece)
        at += len(piece)
        last = m.end()
    if not marks:
        return None
    parts.append(text[last:])
    return "".join(parts), marks


def _original_spans(marks, spans):
    """Spans of a decoded text as spans of the text it was decoded from: an end inside a decoded
    piece takes the whole piece."""
    starts = [mark[0] for mark in marks]
    out = []
    for a, b, name in spans:
        i = bisect.bisect_right(starts, a) - 1
        if i < 0:
            oa = a
        else:
            ds, de, os_, oe = marks[i]
            oa = os_ if a < de else oe + (a - de)
        j = bisect.bisect_left(starts, b) - 1
        if j < 0:
            ob = b
        else:
            ds, de, os_, oe = marks[j]
            ob = oe if b <= de else oe + (b - de)
        out.append((oa, ob, name))
    return out


def _replace(text, spans):
    """`text` with each span (overlapping ones merged) replaced by [secret NAME]."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    out = []
    pos = 0
    cur = None
    for a, b, name in spans:
        if cur is not None and a < cur[1]:
            if b - a > cur[1] - cur[0]:
                cur = (cur[0], max(b, cur[1]), name)
            elif b > cur[1]:
                cur = (cur[0], b, cur[2])
            continue
        if cur is not None:
            out.append(text[pos : cur[0]])
            out.append("[secret %s]" % cur[2])
            pos = cur[1]
        cur = (a, b, name)
    assert cur is not None, "callers pass at least one span"
    out.append(text[pos : cur[0]])
    out.append("[secret %s]" % cur[2])
    out.append(text[cur[1] :])
    return "".join(out)


def _prefix_trie(forms: Iterable[str], depth: int) -> Dict[str, Any]:
    """The first `depth` characters of each form, as nested dicts keyed by character."""
    trie = {}  # type: Dict[str, Any]
    for form in forms:
        node = trie
        for ch in form[:depth]:
            node = node.setdefault(ch, {})
    return trie


class _Held:
    __slots__ = ("text", "stream", "parent", "ident")

    def __init__(self, text, stream, parent, ident):
        self.text = text
        self.stream = stream
        self.parent = parent
        self.ident = ident


class _Redactor:
    def __init__(self):
        self.enabled = True
        self.served = []  # (name, value): what _inherit hands to a newer helper
        self._seen = set()
        self._dirty = False
        self._forms = {}  # encoded form -> (name, whether its runs count)
        self._matcher = None
        self._trie = None  # type: Optional[Dict[str, Any]]
        self._chars = frozenset()  # type: FrozenSet[str]
        self._lock = threading.RLock()
        self._held = {}  # stream name ("stdout"/"stderr") -> _Held
        self._timer = None
        self._session = None
        self._send = None  # the session's own send

    def add(self, name, value):
        with self._lock:
            if (name, value) in self._seen:
                return
            self._seen.add((name, value))
            self.served.append((name, value))
            for form, runs in _encoded_forms(value).items():
                if self._forms.get(form) != (name, runs):
                    self._forms[form] = (name, runs)
                    self._dirty = True
        self.install()

    def _rebuild(self):
        # Once per batch of new values, at the next output: a loop of get_secret calls costs
        # one build, not one per call.
        with self._lock:
            if self._dirty:
                self._matcher = _Matcher(self._forms)
                self._trie = None
                self._chars = frozenset("".join(self._forms))
                self._dirty = False

    # -- the hook ------------------------------------------------------------------------------

    def install(self):
        if self._session is not None:
            return
        import sys

        # Only a running kernel has it imported; importing it elsewhere is slow and noisy.
        kernelapp = sys.modules.get("ipykernel.kernelapp")
        IPKernelApp = getattr(kernelapp, "IPKernelApp", None)
        if IPKernelApp is None or not IPKernelApp.initialized():
            return
        session = IPKernelApp.instance().session
        with self._lock:
            if self._session is not None:
                return
            original = getattr(session, "_notebook_secrets_send", None) or session.send
            redactor = self

            def send(stream, msg_or_type, content=None, parent=None, ident=None, *args, **kwargs):
                return redactor._on_send(original, stream, msg_or_type, content, parent, ident, args, kwargs)

            session._notebook_secrets_send = original
            session.send = send
            self._session = session
            self._send = original

    def uninstall(self):
        with self._lock:
            session = self._session
            if session is None:
                return
            self.flush_held()
            original = getattr(session, "_notebook_secrets_send", None)
            if original is not None:
                session.send = original
                del session._notebook_secrets_send
            self._session = None

    def _on_send(self, original, stream, msg_or_type, content, parent, ident, args, kwargs):
        if self._dirty and self.enabled:
            self._rebuild()
        if not self.enabled or self._matcher is None:
            return original(stream, msg_or_type, content, parent, ident, *args, **kwargs)
        if isinstance(msg_or_type, dict):
            msg_type = (msg_or_type.get("header") or {}).get("msg_type") or msg_or_type.get("msg_type")
            msg_content = msg_or_type.get("content")
        else:
            msg_type = msg_or_type
            msg_content = content
        if msg_type == "stream" and isinstance(msg_content, dict):
            new = self._stream(stream, msg_content, parent, ident)
            if new is None:
                return None
        else:
            self.flush_held()
            if msg_type not in _REDACT_MSG_TYPES or not isinstance(msg_content, dict):
                return original(stream, msg_or_type, content, parent, ident, *args, **kwargs)
            new = self._content(msg_type, msg_content)
        if new is not msg_content:
            if isinstance(msg_or_type, dict):
                msg_or_type = dict(msg_or_type)
                msg_or_type["content"] = new
            else:
                content = new
        return original(stream, msg_or_type, content, parent, ident, *args, **kwargs)

    # -- what is replaced ----------------------------------------------------------------------

    def _sub(self, text):
        matcher = self._matcher
        assert matcher is not None, "_on_send matches only once a value was served"
        spans = matcher.spans(text)
        for start, pattern, decode in _VIEWS:
            if start in text:
                # Matched in the decoded text, replaced in the text as written.
                decoded = _decoded(text, pattern, decode)
                if decoded is not None:
                    spans.extend(_original_spans(decoded[1], matcher.spans(decoded[0])))
        return _replace(text, spans) if spans else text

    def _any(self, value):
        if isinstance(value, str):
            return self._sub(value)
        if isinstance(value, (list, tuple)):
            return [self._any(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if isinstance(k, str):
                    if isinstance(v, str) and k.startswith("image/") and k != "image/svg+xml":
                        # Base64 images: a value's encoding could only match by chance.
                        out[k] = v
                        continue
                    new_k = self._sub(k)
                    if new_k != k:
                        # Two keys replaced by the same name stay two keys.
                        base, n = new_k, 2
                        while new_k in out or new_k in value:
                            new_k, n = "%s (%d)" % (base, n), n + 1
                    k = new_k
                out[k] = self._any(v)
            return out
        return value

    def _content(self, msg_type, content):
        payload = content.get("payload") if msg_type == "execute_reply" else None
        if not isinstance(payload, list):
            return self._any(content)
        new = self._any({k: v for k, v in content.items() if k != "payload"})
        # A set_next_input payload becomes the next cell's source, which is never altered.
        new["payload"] = [
            p if isinstance(p, dict) and p.get("source") == "set_next_input" else self._any(p)
            for p in payload
        ]
        return new

    # -- streams: a value written in pieces ----------------------------------------------------

    def _stream(self, stream, content, parent, ident):
        text = content.get("text")
        if not isinstance(text, str):
            return content
        name = content.get("name")
        with self._lock:
            for other in [n for n in self._held if n != name]:
                self._flush_one(other)
            held = self._held.pop(name, None)
            if held is not None:
                text = held.text + text
            text = self._sub(text)
            keep = self._partial_tail(text)
            if keep:
                self._held[name] = _Held(text[-keep:], stream, parent, ident)
                text = text[:-keep]
                self._arm_timer()
        if not text:
            return None
        new = dict(content)
        new["text"] = text
        return new

    def _partial_tail(self, text):
        """Length of the longest end of `text` that is the start of a value (0 if none)."""
        if not text or text[-1] not in self._chars:
            return 0
        if self._trie is None:
            self._trie = _prefix_trie(self._forms, _REDACT_HOLD_MAX)
        trie = self._trie
        start = max(0, len(text) - _REDACT_HOLD_MAX)
        for i in range(start, len(text)):
            if text[i] not in trie:
                continue
            node = trie
            j = i
            while j < len(text):
                child = node.get(text[j])
                if child is None:
                    break
                node = child
                j += 1
            if j == len(text) and node:
                return len(text) - i
        return 0

    def _arm_timer(self):
        if self._timer is None:
            timer = threading.Timer(_REDACT_HOLD_SECONDS, self.flush_held)
            timer.daemon = True
            self._timer = timer
            timer.start()

    def flush_held(self):
        """Sends what a stream held back waiting for the rest of a value."""
        with self._lock:
            timer, self._timer = self._timer, None
            if timer is not None and timer is not threading.current_thread():
                timer.cancel()
            for name in list(self._held):
                self._flush_one(name)

    def _flush_one(self, name):
        held = self._held.pop(name, None)
        if held is None or self._send is None:
            return
        self._send(
            held.stream, "stream", {"name": name, "text": held.text}, held.parent, held.ident
        )


_redactor = _Redactor()


# ---------------------------------------------------------------------------------------------
# Other platforms' secret calls, and the kernel's environment (docs/get_secret.md, "Notebooks
# written for other platforms")
#
# Installed in IPython kernels by the injected code, or at kernel start from the PYTHONSTARTUP
# file next to this module (python/notebook_secrets_startup.py), which VS Code and
# `notebook-secrets run --kernels` put in the environment of the kernels they start:
#
# - An AST transformer (IPython's `ast_transformers`) rewrites, in the user's cells only and only
#   when the notebook chose it, Colab's `from google.colab import userdata`, Kaggle's
#   `from kaggle_secrets import UserSecretsClient`, SingleStore's
#   `from singlestoredb.management import get_secret`, Databricks' `dbutils.secrets.get(...)` and
#   Hopsworks' `….get_secrets_api()` into this module's stand-ins, which answer through
#   get_secret (same consent, same redaction). No module is registered under another platform's
#   name, so a library that probes `import google.colab` still finds nothing, and installed
#   packages are never touched.
# - Before the first cell a user runs, the names the notebook lists for its environment are read
#   (one consent for all) and set in os.environ; before each later cell, names whose access was
#   revoked are taken out again. `!` and `%sx` commands run without them unless
#   shell_environment(True) was called.

_PLATFORM_SETUP_PATH = "/v1/setup"
_ENVIRONMENT_PATH = "/v1/environment"
_HOOK_MARK = "_notebook_secrets_hook"
# Set on the `!` filter: the shell's own function it wraps, which a newer helper wraps instead.
_ORIGINAL_MARK = "_notebook_secrets_original"


def _setup(ask=None):
    """What the notebook chose ({"serve_platform_calls": bool or None, "environment": [names]}),
    asked of whoever serves this kernel; `ask` names the platforms of a cell about to run, so that
    an undecided notebook asks its user. None when nobody serves this kernel."""
    import os
    import sys

    payload = {}
    if ask:
        payload["ask"] = sorted(ask)
    cfg = _config
    if cfg is None and not os.environ.get(_ENV_TOKEN):
        # A local kernel of VS Code before its first get_secret: ask with the window's claim
        # token, naming the notebook, without claiming a token (a notebook that reads no secret
        # then never gets one).
        endpoint = os.environ.get(_ENV_VSCODE_ENDPOINT, "")
        claim = os.environ.get(_ENV_VSCODE_CLAIM, "")
        notebook = getattr(sys.modules.get("__main__"), "__vsc_ipynb_file__", None)
        if not endpoint or not claim or not isinstance(notebook, str) or not notebook:
            return None
        payload["notebook"] = notebook
        answer = _BrokerTransport(endpoint, claim).request(payload, path=_PLATFORM_SETUP_PATH)
    else:
        answer = _ask("setup", payload)
    return _answer_or_raise(answer)


def _ask(op, payload):
    """A setup or environment request over this kernel's transport (claiming a token if needed)."""
    transport = _select_transport()
    if transport.name == "inband":
        request = dict(payload)
        request["op"] = op
        return transport.request(request)
    try:
        answer = transport.request(payload, path="/v1/" + op)
    except _BrokerGone:
        fallback = _fall_back_to_inband(transport)
        if fallback is None:
            raise SecretsUnavailableError("The Notebook Secrets broker is not reachable.") from None
        request = dict(payload)
        request["op"] = op
        return fallback.request(request)
    cfg = _config
    if _error_code(answer) == "unauthorized" and cfg is not None and cfg.claim is not None:
        answer = _claim_again(cfg).request(payload, path="/v1/" + op)
    return answer


def _answer_or_raise(answer):
    if not isinstance(answer, dict):
        raise SecretsUnavailableError("Notebook Secrets sent a malformed answer.")
    error = answer.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        message = str(error.get("message") or code)
        if code == "access_denied":
            raise SecretAccessError(message)
        raise SecretsUnavailableError(message)
    return answer


# -- the stand-ins ------------------------------------------------------------------------------


class _ColabUserdata:
    """Colab's `google.colab.userdata`: get(key) is get_secret(key)."""

    SecretNotFoundError = SecretNotFoundError
    NotebookAccessError = SecretAccessError
    TimeoutException = SecretsUnavailableError

    @staticmethod
    def get(key):
        return get_secret(key)

    def __repr__(self):
        return "<userdata served by Notebook Secrets>"


class _KaggleUserSecretsClient:
    """Kaggle's `kaggle_secrets.UserSecretsClient`: get_secret(label) is get_secret(label)."""

    def __init__(self, *args, **kwargs):
        pass

    def get_secret(self, label):
        return get_secret(label)

    def __getattr__(self, name):
        raise AttributeError(
            "UserSecretsClient.%s needs Kaggle; Notebook Secrets serves get_secret(label) only." % name
        )


class _DatabricksSecrets:
    """Databricks' `dbutils.secrets`: get(scope, key) and getBytes(scope, key) read the secret
    named `key` (scopes have no place in Notebook Secrets' names)."""

    @staticmethod
    def get(scope=None, key=None):
        return get_secret(key)

    @staticmethod
    def getBytes(scope=None, key=None):
        return get_secret_bytes(key)


class _HopsworksSecret:
    __slots__ = ("name", "value", "owner")

    def __init__(self, name, value):
        self.name = name
        self.value = value
        self.owner = None

    def __repr__(self):
        return "<Secret %r served by Notebook Secrets>" % (self.name,)


class _HopsworksSecretsApi:
    """Hopsworks' secrets API: get_secret(name).value and get(name) read the secret `name`."""

    @staticmethod
    def get_secret(name, owner=None):
        return _HopsworksSecret(name, get_secret(name))

    @staticmethod
    def get(name, owner=None):
        return get_secret(name)

    def __getattr__(self, name):
        raise AttributeError(
            "The secrets API's %s needs Hopsworks; Notebook Secrets serves get_secret(name) and "
            "get(name) only." % name
        )


def _singlestore_get_secret(name):
    """SingleStore's `singlestoredb.management.get_secret(name)`."""
    return get_secret(name)


def _hopsworks_secrets_api(receiver=None):
    # The receiver (`hopsworks`, a project, `hopsworks.login()`) was evaluated as the cell wrote
    # it; only what its get_secrets_api() returns is ours.
    return _HopsworksSecretsApi()


_PLATFORM_APIS = {
    "colab": _ColabUserdata(),
    "kaggle": _KaggleUserSecretsClient,
    "singlestore": _singlestore_get_secret,
    "databricks": _DatabricksSecrets(),
    "hopsworks": _hopsworks_secrets_api,
}


def _platform_api(platform):
    """What a rewritten cell calls instead of a platform's module or object."""
    return _PLATFORM_APIS[platform]


# -- the AST transformer -----------------------------------------------------------------------

# (module, name) of a `from module import name` that a platform's stand-in answers.
_PLATFORM_IMPORTS = {
    ("google.colab", "userdata"): "colab",
    ("kaggle_secrets", "UserSecretsClient"): "kaggle",
    ("singlestoredb.management", "get_secret"): "singlestore",
}


def _platform_import(module: Optional[str], name: str) -> Optional[str]:
    """The platform whose stand-in answers `from module import name`, or None."""
    if module is None:
        return None
    return _PLATFORM_IMPORTS.get((module, name))


def _platform_of(node):
    """The platform a node reads secrets of, or None."""
    import ast

    if isinstance(node, ast.ImportFrom) and not node.level:
        for alias in node.names:
            platform = _platform_import(node.module, alias.name)
            if platform:
                return platform
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        func = node.func
        if (
            func.attr in ("get", "getBytes")
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "secrets"
            and isinstance(func.value.value, ast.Name)
            and func.value.value.id == "dbutils"
        ):
            return "databricks"
        if func.attr == "get_secrets_api" and not node.args and not node.keywords:
            return "hopsworks"
    return None


def _api_expr(platform):
    """`__import__('notebook_secrets')._platform_api('<platform>')`"""
    import ast

    module = ast.Call(
        func=ast.Name(id="__import__", ctx=ast.Load()),
        args=[ast.Constant(value="notebook_secrets")],
        keywords=[],
    )
    return ast.Call(
        func=ast.Attribute(value=module, attr="_platform_api", ctx=ast.Load()),
        args=[ast.Constant(value=platform)],
        keywords=[],
    )


def _rewriter():
    import ast

    class Rewriter(ast.NodeTransformer):
        def visit_ImportFrom(self, node):
            if node.level:
                return node
            kept, bound = [], []
            for alias in node.names:
                platform = _platform_import(node.module, alias.name)
                if platform is None:
                    kept.append(alias)
                    continue
                target = ast.Name(id=alias.asname or alias.name, ctx=ast.Store())
                bound.append(ast.copy_location(ast.Assign(targets=[target], value=_api_expr(platform)), node))
            if not bound:
                return node
            # Other names of the same import stay: without the platform they fail as they would.
            rest = [ast.copy_location(ast.ImportFrom(module=node.module, names=kept, level=0), node)] if kept else []
            return rest + bound

        def visit_Call(self, node):
            self.generic_visit(node)
            platform = _platform_of(node)
            if platform == "databricks":
                node.func = ast.copy_location(
                    ast.Attribute(value=_api_expr("databricks"), attr=node.func.attr, ctx=ast.Load()),
                    node.func,
                )
            elif platform == "hopsworks":
                return ast.copy_location(
                    ast.Call(func=_api_expr("hopsworks"), args=[node.func.value], keywords=[]), node
                )
            return node

    return Rewriter()


# Text a cell with a platform's secret call must contain: a cell without any is not walked.
_PLATFORM_MARKERS = ("google.colab", "kaggle_secrets", "singlestoredb", "dbutils", "get_secrets_api")


class _PlatformCalls:
    """IPython AST transformer: serves other platforms' secret calls in the user's cells when the
    notebook chose it (asking its user the first time), and otherwise leaves the cell as it is."""

    _notebook_secrets_hook = True

    def __init__(self):
        # Whether the cell about to be parsed holds a marker, as the text transformer saw it
        # (None: not seen, e.g. an IPython without input_transformers_post: walk the tree).
        self.marked = None

    def text_hook(self, shell):
        """An input transformer (it sees each cell's text just before it is parsed) that puts this
        transformer in IPython's list only for a cell with a marker: with any AST transformer in
        the list, IPython walks every cell's whole tree once more (fix_missing_locations)."""
        transformers = shell.ast_transformers

        def mark(lines):
            text = "".join(lines)
            self.marked = any(m in text for m in _PLATFORM_MARKERS)
            present = self in transformers
            if self.marked and not present:
                transformers.append(self)
            elif present and not self.marked:
                transformers.remove(self)
            return lines

        setattr(mark, _HOOK_MARK, True)
        return mark

    def visit(self, tree):
        marked, self.marked = self.marked, None
        if marked is False:
            return tree
        try:
            import ast

            platforms = {p for p in map(_platform_of, ast.walk(tree)) if p}
            if not platforms:
                return tree
            choice = _setup(ask=platforms)
            if not choice or choice.get("serve_platform_calls") is not True:
                if choice and isinstance(choice.get("note"), str):
                    _note(choice["note"])
                return tree
            return ast.fix_missing_locations(_rewriter().visit(tree))
        except Exception as exc:  # never unregister ourselves, never break the cell
            _note("could not serve this cell's %s secret calls (%s)" % (_platforms_label(tree), exc))
            return tree


def _platforms_label(tree):
    try:
        import ast

        names = {"colab": "Colab", "kaggle": "Kaggle", "singlestore": "SingleStore",
                 "databricks": "Databricks", "hopsworks": "Hopsworks"}
        return " and ".join(sorted({names[p] for p in map(_platform_of, ast.walk(tree)) if p}))
    except Exception:
        return "platform"


def _note(message):
    import sys

    try:
        sys.stderr.write("Notebook Secrets: %s\n" % (message,))
    except Exception:
        pass


# -- the kernel's environment ------------------------------------------------------------------


class _Environment:
    def __init__(self):
        self.set_up = False  # the first cell asked for the notebook's list
        # An in-band client said it has names for this kernel's environment (asking in band
        # when no client answers would hold the cell for seconds).
        self.invited = False
        self.served = {}  # name -> the value this module put in os.environ
        self.before = {}  # name -> what os.environ held there before (the kernel's own), if anything
        self.shell = False  # whether `!` commands see them
        self.lock = threading.Lock()

    def before_cell(self):
        if not self.set_up:
            self.set_up = True
            if not self.expected():
                return
            try:
                choice = _setup()
            except Exception:
                # A client that predates environments, or none: nothing to set.
                return
            names = (choice or {}).get("environment") or []
            if names:
                self.load([n for n in names if isinstance(n, str)])
        elif self.served:
            self.check()

    def expected(self):
        """Whether someone is there to ask: a broker in this kernel's environment or configuration
        (it answers at once, or is known to be gone), or an in-band client that said so."""
        import os

        if os.environ.get(_ENV_TOKEN) or (_config is None and os.environ.get(_ENV_VSCODE_CLAIM)):
            return True
        cfg = _config
        if cfg is None:
            return False
        if cfg.endpoint and _BrokerTransport(cfg.endpoint, cfg.token).reachable():
            return True
        return self.invited

    def load(self, names):
        import os

        answer = _answer_or_raise(_ask("environment", {"names": names}))
        values = answer.get("values") or {}
        refused = answer.get("refused") or {}
        for name in names:
            entry = values.get(name)
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                message = refused.get(name) if isinstance(refused, dict) else None
                _note("%s is not in this kernel's environment: %s" % (name, message or "not served"))
                continue
            value = entry["value"]
            if entry.get("encoding") == "base64":
                try:
                    value = base64.b64decode(value, validate=True).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    _note("%s is a binary file secret; it cannot go in the environment." % name)
                    continue
            if "\x00" in value:
                _note("%s holds a NUL character; it cannot go in the environment." % name)
                continue
            _redactor.add(name, value)
            if name not in self.served and name in os.environ:
                self.before[name] = os.environ[name]
            os.environ[name] = value
            self.served[name] = value

    def check(self):
        """Takes out the names whose access ended (revoked, or nobody serves this kernel now)."""
        try:
            answer = _answer_or_raise(_ask("environment", {"names": sorted(self.served), "check": True}))
            allowed = set(answer.get("allowed") or [])
        except Exception:
            allowed = set()
        for name in [n for n in self.served if n not in allowed]:
            self.remove(name)

    def remove(self, name):
        import os

        value = self.served.pop(name, None)
        before = self.before.pop(name, None)
        # A cell that set the variable itself keeps its own value.
        if value is not None and os.environ.get(name) == value:
            if before is None:
                del os.environ[name]
            else:
                os.environ[name] = before

    def hidden(self, run):
        """`run` (a `!` command) without the names served, unless shell_environment(True)."""

        def without(*args, **kwargs):
            import os

            names = [n for n, v in self.served.items() if os.environ.get(n) == v]
            if self.shell or not names:
                return run(*args, **kwargs)
            with self.lock:
                saved = {n: os.environ.pop(n) for n in names}
                # The command sees what the kernel's environment held before, if anything.
                for n in names:
                    if n in self.before:
                        os.environ[n] = self.before[n]
                try:
                    return run(*args, **kwargs)
                finally:
                    for n, v in saved.items():
                        os.environ[n] = v

        setattr(without, _ORIGINAL_MARK, run)
        return without


_environment = _Environment()


def shell_environment(enabled=True):
    """Whether `!` and `%sx` commands of this kernel see the secrets the notebook put in its
    environment (off by default; `subprocess` calls of your own code always see os.environ).
    Returns the previous setting."""
    previous = _environment.shell
    _environment.shell = bool(enabled)
    return previous


def _before_cell(*args):
    try:
        _environment.before_cell()
    except Exception as exc:
        _note("could not set up this kernel's environment (%s)" % (exc,))


setattr(_before_cell, _HOOK_MARK, True)


def _install_kernel_hooks():
    """Installs the transformer, the environment hook and the `!` filter in this IPython kernel,
    in place of an earlier helper module's."""
    get_ipython = getattr(__import__("sys").modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if get_ipython else None
    if shell is None or not hasattr(shell, "ast_transformers"):
        return False
    transformer = _PlatformCalls()
    shell.ast_transformers[:] = [
        t for t in shell.ast_transformers if not getattr(t, _HOOK_MARK, False)
    ]
    text = getattr(shell, "input_transformers_post", None)
    if isinstance(text, list):
        text[:] = [t for t in text if not getattr(t, _HOOK_MARK, False)]
        text.append(transformer.text_hook(shell))
    else:
        shell.ast_transformers.append(transformer)
    callbacks = shell.events.callbacks.get("pre_run_cell", [])
    for callback in [c for c in callbacks if getattr(c, _HOOK_MARK, False)]:
        shell.events.unregister("pre_run_cell", callback)
    shell.events.register("pre_run_cell", _before_cell)
    for attr in ("system", "getoutput"):
        current = getattr(shell, attr)
        original = getattr(current, _ORIGINAL_MARK, current)
        setattr(shell, attr, _environment.hidden(original))
    return True


def _inherit_environment(previous):
    """Called by _inherit: what an earlier helper module put in the environment stays tracked."""
    old = getattr(previous, "_environment", None)
    if old is not None and isinstance(getattr(old, "served", None), dict):
        _environment.set_up = bool(old.set_up)
        _environment.invited = _environment.invited or bool(getattr(old, "invited", False))
        _environment.served.update(old.served)
        _environment.before.update(getattr(old, "before", None) or {})
        _environment.shell = bool(old.shell)
