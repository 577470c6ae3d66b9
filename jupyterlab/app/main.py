"""JupyterLab for the e2e suite and npm start: the frontend built from npm packages
(scripts/jupyterLab.mjs builds it into $NOTEBOOK_SECRETS_LAB_BUILD), served by Debian's
jupyterlab-server (a LabServerApp on jupyter-server), with the Notebook Secrets server extension
(jupyterlab/notebook_secrets_jupyterlab) enabled. Run it with the Python that has them:

    NOTEBOOK_SECRETS_LAB_BUILD=out/jupyterlab PYTHONPATH=jupyterlab \\
        /usr/bin/python3 jupyterlab/app/main.py --ServerApp.port=8888
"""
import json
import os

from jupyterlab_server import LabServerApp

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(os.environ.get("NOTEBOOK_SECRETS_LAB_BUILD", os.path.join(HERE, "build")))
# The state folder the caller chose (JUPYTER_CONFIG_DIR's parent), so the clone is never written.
STATE = os.path.dirname(os.environ.get("JUPYTER_CONFIG_DIR", os.path.join(BUILD, "config")))

# Configuration files on this machine must not change what the tests and the demo run.
os.environ["JUPYTER_NO_CONFIG"] = "1"

with open(os.path.join(HERE, "package.json")) as f:
    VERSION = json.load(f)["version"]


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": SecretsLabApp}]


class SecretsLabApp(LabServerApp):
    name = __name__
    extension_url = "/lab"
    default_url = "/lab"
    app_url = "/lab"
    app_name = "JupyterLab with Notebook Secrets"
    app_version = VERSION
    load_other_extensions = True
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(BUILD, "application_settings")
    user_settings_dir = os.path.join(STATE, "lab", "user-settings")
    workspaces_dir = os.path.join(STATE, "lab", "workspaces")

    # The server extension, found on PYTHONPATH as a pip-installed one would be; a user's
    # install enables it with jupyter-config/ instead (JUPYTER_NO_CONFIG turns that off here).
    serverapp_config = {"jpserver_extensions": {"notebook_secrets_jupyterlab": True}}


if __name__ == "__main__":
    SecretsLabApp.launch_instance()
