"""Run by IPython kernels at start (PYTHONSTARTUP) when Notebook Secrets started them: VS Code sets
PYTHONSTARTUP to this file in the environment of the local kernels the Jupyter extension starts,
and `notebook-secrets run --kernels` in the environment of its command. It installs the helper's
kernel hooks before the first cell (notebooks that read keys the Colab, Kaggle, Databricks,
SingleStore or Hopsworks way, and the names a notebook wants in its environment; see
notebook_secrets.py), then runs the user's own PYTHONSTARTUP file, if they had one, which Notebook
Secrets kept in NOTEBOOK_SECRETS_PYTHONSTARTUP. It defines no name in the user's namespace and
reads no value.
"""


def _notebook_secrets_startup():
    import os

    own = os.environ.pop("NOTEBOOK_SECRETS_PYTHONSTARTUP", "")
    # Commands the kernel runs (`!python -i`) see the user's own start-up file, or none.
    if own:
        os.environ["PYTHONSTARTUP"] = own
    else:
        os.environ.pop("PYTHONSTARTUP", None)
    try:
        import notebook_secrets

        notebook_secrets._install_kernel_hooks()
    except Exception:
        pass
    return own


def _notebook_secrets_run_own(path, namespace):
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    exec(code, namespace)


_notebook_secrets_own = _notebook_secrets_startup()
try:
    if _notebook_secrets_own:
        _notebook_secrets_run_own(_notebook_secrets_own, globals())
finally:
    del _notebook_secrets_startup, _notebook_secrets_run_own, _notebook_secrets_own
