"""Notebook Secrets for JupyterLab: the server extension.

It starts and supervises one ``notebook-secrets jupyterlab-bridge`` process per Jupyter server
(the CLI is a prerequisite), which sets up ``get_secret`` in the server's kernels and keeps the
secrets (the team server when signed in, else the OS keychain of this machine). The Secrets panel
reaches it through the handlers under ``/notebook-secrets/``, behind Jupyter's own token or cookie.
"""
from .bridge import Bridge
from .handlers import setup_handlers

__version__ = "0.1.0"


def _jupyter_server_extension_points():
    return [{"module": "notebook_secrets_jupyterlab"}]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "notebook-secrets-jupyterlab"}]


def _load_jupyter_server_extension(serverapp):
    bridge = Bridge(serverapp)
    setup_handlers(serverapp.web_app, bridge)
    bridge.start()
    serverapp.log.info("Notebook Secrets: the Secrets panel's bridge is starting.")


# jupyter_server 1.x also looks for the name without the underscore.
load_jupyter_server_extension = _load_jupyter_server_extension
